"""Lifecycle configurations and object tagging through the S3 API (the
cofferd of run-pytest.sh, no tier: rules that move data are tier*.sh's).

PutBucketLifecycleConfiguration is validated as S3 validates it, with the
error S3 gives and a message naming the rule; the hostile documents of
issue 10 (deep nesting, huge documents, bad dates, 1,001 rules, duplicate
IDs) get their S3 error and change nothing, as do bad values of the actions
on versions (NoncurrentDays, NewerNoncurrentVersions, ExpiredObjectDeleteMarker).
Tagging follows S3's limits; x-amz-tagging works on PUT, copy and multipart
create, x-amz-tagging-count comes back on GET and HEAD.
"""
import base64
import hashlib
import xml.etree.ElementTree as ET

import pytest
from botocore.exceptions import ClientError

NS = 'xmlns="http://s3.amazonaws.com/doc/2006-03-01/"'


def md5_header(body):
    return {"Content-MD5": base64.b64encode(hashlib.md5(body).digest()).decode()}


def put_lc(raw, bucket, doc, digest=True):
    body = doc.encode() if isinstance(doc, str) else doc
    return raw("PUT", f"/{bucket}", "lifecycle", body=body,
               headers=md5_header(body) if digest else {})


def rule(body, rid="r1"):
    return (f"<LifecycleConfiguration {NS}><Rule><ID>{rid}</ID>{body}</Rule>"
            "</LifecycleConfiguration>")


F = "<Filter><Prefix>logs/</Prefix></Filter><Status>Enabled</Status>"


def test_configuration_round_trip(s3, bucket):
    with pytest.raises(ClientError) as e:
        s3.get_bucket_lifecycle_configuration(Bucket=bucket)
    assert e.value.response["Error"]["Code"] == "NoSuchLifecycleConfiguration"
    assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404
    rules = [{"ID": "logs", "Status": "Enabled", "Filter": {"Prefix": "logs/"},
              "Expiration": {"Days": 30}},
             {"ID": "uploads", "Status": "Enabled", "Filter": {"Prefix": ""},
              "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 7}},
             {"ID": "tagged", "Status": "Disabled", "Filter": {"And": {
                 "Prefix": "x/", "Tags": [{"Key": "k", "Value": "v"}],
                 "ObjectSizeGreaterThan": 10, "ObjectSizeLessThan": 100}},
              "Expiration": {"Days": 1}}]
    s3.put_bucket_lifecycle_configuration(Bucket=bucket,
                                          LifecycleConfiguration={"Rules": rules})
    got = s3.get_bucket_lifecycle_configuration(Bucket=bucket)["Rules"]
    assert [r["ID"] for r in got] == ["logs", "uploads", "tagged"]
    assert got[0]["Expiration"] == {"Days": 30}
    assert got[2]["Filter"]["And"]["Tags"] == [{"Key": "k", "Value": "v"}]
    s3.delete_bucket_lifecycle(Bucket=bucket)
    with pytest.raises(ClientError) as e:
        s3.get_bucket_lifecycle_configuration(Bucket=bucket)
    assert e.value.response["Error"]["Code"] == "NoSuchLifecycleConfiguration"


def test_version_rules_round_trip(s3, bucket):
    """The actions on versions are stored and read back as sent."""
    rules = [{"ID": "versions", "Status": "Enabled", "Filter": {"Prefix": "data/"},
              "NoncurrentVersionExpiration": {"NoncurrentDays": 30,
                                              "NewerNoncurrentVersions": 3}},
             {"ID": "markers", "Status": "Enabled", "Filter": {"Prefix": ""},
              "Expiration": {"ExpiredObjectDeleteMarker": True}}]
    s3.put_bucket_lifecycle_configuration(Bucket=bucket,
                                          LifecycleConfiguration={"Rules": rules})
    got = s3.get_bucket_lifecycle_configuration(Bucket=bucket)["Rules"]
    assert got[0]["NoncurrentVersionExpiration"] == {"NoncurrentDays": 30,
                                                     "NewerNoncurrentVersions": 3}
    assert got[1]["Expiration"] == {"ExpiredObjectDeleteMarker": True}
    s3.delete_bucket_lifecycle(Bucket=bucket)


def test_without_namespace_and_old_prefix(raw, bucket):
    r = put_lc(raw, bucket, "<LifecycleConfiguration><Rule><Prefix>a/</Prefix><Status>"
               "Enabled</Status><Expiration><Date>2040-01-01T00:00:00.000Z</Date>"
               "</Expiration></Rule></LifecycleConfiguration>")
    assert r.status == 200, r.body
    assert b"<Prefix>a/</Prefix>" in raw("GET", f"/{bucket}", "lifecycle").body


@pytest.mark.parametrize("doc,code,needle", [
    (rule(F), "InvalidRequest", "Rule 'r1': At least one action"),
    (rule("<Filter/><Expiration><Days>1</Days></Expiration>"), "MalformedXML", "Status"),
    (rule(F + "<Expiration><Days>0</Days></Expiration>"), "InvalidArgument",
     "'Days' for Expiration action must be a positive integer"),
    (rule(F + "<Expiration><Date>2040-01-01T10:00:00Z</Date></Expiration>"),
     "InvalidArgument", "midnight"),
    (rule(F + "<Expiration><Date>2040-02-30</Date></Expiration>"), "MalformedXML", "ISO"),
    (rule(F + "<Transition><Days>1</Days><StorageClass>NOPE</StorageClass></Transition>"),
     "InvalidArgument", "Rule 'r1': the Transition's StorageClass NOPE is not a tier"),
    (rule("<Filter><And><Tag><Key>a</Key><Value>1</Value></Tag><Tag><Key>a</Key><Value>2"
          "</Value></Tag></And></Filter><Status>Enabled</Status><Expiration><Days>1</Days>"
          "</Expiration>"), "InvalidRequest", "Duplicate Tag Keys"),
    (rule(F + "<NoncurrentVersionExpiration><NoncurrentDays>0</NoncurrentDays>"
          "</NoncurrentVersionExpiration>"), "InvalidArgument",
     "Rule 'r1': 'NoncurrentDays' for NoncurrentVersionExpiration action must be a positive"),
    (rule(F + "<NoncurrentVersionExpiration><NoncurrentDays>1</NoncurrentDays>"
          "<NewerNoncurrentVersions>101</NewerNoncurrentVersions>"
          "</NoncurrentVersionExpiration>"), "InvalidArgument", "NewerNoncurrentVersions"),
    (rule(F + "<NoncurrentVersionTransition><NoncurrentDays>1</NoncurrentDays>"
          "<StorageClass>NOPE</StorageClass></NoncurrentVersionTransition>"),
     "InvalidArgument", "Rule 'r1': the NoncurrentVersionTransition's StorageClass NOPE is "
     "not a tier"),
    (rule(F + "<Expiration><Days>1</Days><ExpiredObjectDeleteMarker>true"
          "</ExpiredObjectDeleteMarker></Expiration>"), "MalformedXML",
     "ExpiredObjectDeleteMarker"),
    (f"<LifecycleConfiguration><Rule><ID>d</ID>{F}<Expiration><Days>1</Days></Expiration>"
     f"</Rule><Rule><ID>d</ID>{F}<Expiration><Days>2</Days></Expiration></Rule>"
     "</LifecycleConfiguration>", "InvalidArgument", "Rule 'd': Rule ID must be unique"),
    ("<LifecycleConfiguration><Rule>" + "<Filter>" * 40, "MalformedXML", None),
    ("<!DOCTYPE l [<!ENTITY e 'x'>]><LifecycleConfiguration/>", "MalformedXML", None),
    ("not xml at all", "MalformedXML", None),
])
def test_s3_errors_name_the_rule(raw, bucket, doc, code, needle):
    r = put_lc(raw, bucket, doc)
    assert r.status in (400, 501) and r.error_code() == code, r.body
    if needle:
        assert needle in ET.fromstring(r.body).findtext("Message")
    assert raw("GET", f"/{bucket}", "lifecycle").status == 404   # nothing stored


def test_hostile_documents(raw, bucket):
    one = f"<Rule>{F}<Expiration><Days>1</Days></Expiration></Rule>"
    r = put_lc(raw, bucket, "<LifecycleConfiguration>" + one * 1001 +
               "</LifecycleConfiguration>")
    assert r.status == 400 and r.error_code() == "InvalidRequest"
    assert "at most 1000 rules" in ET.fromstring(r.body).findtext("Message")
    r = put_lc(raw, bucket, "<LifecycleConfiguration>" + one * 1000 +
               "</LifecycleConfiguration>")
    assert r.status == 200
    raw("DELETE", f"/{bucket}", "lifecycle")
    huge = ("<LifecycleConfiguration>" + "<Rule/>" * 400000 +
            "</LifecycleConfiguration>").encode()
    r = put_lc(raw, bucket, huge)
    assert r.status == 400 and r.error_code() == "MalformedXML"
    r = put_lc(raw, bucket, b"<LifecycleConfiguration>" + b" " * (5 << 20))
    assert r.status == 400 and r.error_code() == "MaxMessageLengthExceeded"
    r = put_lc(raw, bucket, rule(F + "<Expiration><Days>1</Days></Expiration>"), digest=False)
    assert r.status == 400 and r.error_code() == "InvalidRequest"
    assert raw("GET", f"/{bucket}", "lifecycle").status == 404


def test_object_tagging(s3, bucket):
    s3.put_object(Bucket=bucket, Key="k", Body=b"x", Tagging="a=1&b=two%20words")
    h = s3.head_object(Bucket=bucket, Key="k")
    assert h["ResponseMetadata"]["HTTPHeaders"]["x-amz-tagging-count"] == "2"
    g = s3.get_object(Bucket=bucket, Key="k")
    assert g["TagCount"] == 2
    tags = s3.get_object_tagging(Bucket=bucket, Key="k")["TagSet"]
    assert tags == [{"Key": "a", "Value": "1"}, {"Key": "b", "Value": "two words"}]
    s3.put_object_tagging(Bucket=bucket, Key="k",
                          Tagging={"TagSet": [{"Key": "only", "Value": "one"}]})
    assert s3.get_object_tagging(Bucket=bucket, Key="k")["TagSet"] == [
        {"Key": "only", "Value": "one"}]
    s3.delete_object_tagging(Bucket=bucket, Key="k")
    assert s3.get_object_tagging(Bucket=bucket, Key="k")["TagSet"] == []
    assert "x-amz-tagging-count" not in s3.head_object(
        Bucket=bucket, Key="k")["ResponseMetadata"]["HTTPHeaders"]
    with pytest.raises(ClientError) as e:
        s3.get_object_tagging(Bucket=bucket, Key="missing")
    assert e.value.response["Error"]["Code"] == "NoSuchKey"
    # multipart create and copy
    up = s3.create_multipart_upload(Bucket=bucket, Key="m", Tagging="t=1")["UploadId"]
    e1 = s3.upload_part(Bucket=bucket, Key="m", UploadId=up, PartNumber=1, Body=b"p")["ETag"]
    s3.complete_multipart_upload(Bucket=bucket, Key="m", UploadId=up, MultipartUpload={
        "Parts": [{"PartNumber": 1, "ETag": e1}]})
    assert s3.get_object_tagging(Bucket=bucket, Key="m")["TagSet"] == [
        {"Key": "t", "Value": "1"}]
    s3.copy_object(Bucket=bucket, Key="c", CopySource={"Bucket": bucket, "Key": "m"})
    assert s3.get_object_tagging(Bucket=bucket, Key="c")["TagSet"] == [
        {"Key": "t", "Value": "1"}]
    s3.copy_object(Bucket=bucket, Key="c", CopySource={"Bucket": bucket, "Key": "m"},
                   TaggingDirective="REPLACE", Tagging="new=yes")
    assert s3.get_object_tagging(Bucket=bucket, Key="c")["TagSet"] == [
        {"Key": "new", "Value": "yes"}]


@pytest.mark.parametrize("tagging", [
    "&".join(f"k{i}=v" for i in range(11)), "k=1&k=2", "aws:x=1", "k" * 129 + "=v",
    "k=" + "v" * 257,
])
def test_tag_limits(s3, bucket, tagging):
    with pytest.raises(ClientError) as e:
        s3.put_object(Bucket=bucket, Key="t", Body=b"x", Tagging=tagging)
    assert e.value.response["Error"]["Code"] == "InvalidTag"
    with pytest.raises(ClientError):
        s3.head_object(Bucket=bucket, Key="t")


def test_tagging_body_limits(raw, s3, bucket):
    s3.put_object(Bucket=bucket, Key="k", Body=b"x")
    doc = ("<Tagging><TagSet>" + "".join(
        f"<Tag><Key>k{i}</Key><Value>v</Value></Tag>" for i in range(11)) +
        "</TagSet></Tagging>").encode()
    r = raw("PUT", f"/{bucket}/k", "tagging", body=doc, headers=md5_header(doc))
    assert r.status == 400 and r.error_code() == "InvalidTag"
    doc = b"<Tagging><TagSet>" + b"<Tag><Key>k</Key><Value>v</Value></Tag>" * 5000
    r = raw("PUT", f"/{bucket}/k", "tagging", body=doc, headers=md5_header(doc))
    assert r.status == 400 and r.error_code() == "MalformedXML"
    assert s3.get_object_tagging(Bucket=bucket, Key="k")["TagSet"] == []


def test_restore_of_a_local_object(raw, s3, bucket):
    s3.put_object(Bucket=bucket, Key="k", Body=b"x")
    r = raw("POST", f"/{bucket}/k", "restore",
            body=b"<RestoreRequest><Days>1</Days></RestoreRequest>")
    assert r.status == 403 and r.error_code() == "InvalidObjectState"
    r = raw("POST", f"/{bucket}/missing", "restore",
            body=b"<RestoreRequest><Days>1</Days></RestoreRequest>")
    assert r.status == 404 and r.error_code() == "NoSuchKey"
