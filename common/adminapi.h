/*
 * common/adminapi.h - the admin API's contract, spelled once for its two
 * ends: cofferd serves it (server/admin.c, behind the signature check of
 * server/s3auth.c) and `coffer` (cli/) sends it. JSON over HTTP under
 * ADMIN_PREFIX, signed with the admin credential (server/config.h).
 *
 *   POST   /tenants          {"name":"acme"}             201 {"name"}
 *   GET    /tenants                                      200 {"tenants":[{"name","created"}]}
 *   DELETE /tenants/NAME                                 200 {"name","deleted":true}
 *   POST   /keys             {"tenant":"acme",           201 {"access_key","secret_key",
 *                             "read_only":false |          "tenant",POLICY}
 *                             "permissions":["read",
 *                               "write-new",...],
 *                             "buckets":["b1",...],
 *                             "allow_delete_prefixes":["locks/",...]}
 *   GET    /keys[?tenant=NAME]                           200 {"keys":[{"access_key","tenant",
 *                                                             "created",POLICY}]}
 *          POLICY: "permissions" (read, write-new, overwrite, delete,
 *          bypass-governance; default all but bypass-governance, read_only:
 *          read), "buckets" (null: every bucket of the tenant),
 *          "allow_delete_prefixes", "read_only" (no write permission)
 *   DELETE /keys/ACCESS_KEY                              200 {"access_key","deleted":true}
 *   GET    /status                                       200 {"version","layout":{"k","m",
 *                                                             "block_size"},"heal_pending",
 *                                                             "tenants","keys","index":{
 *                                                             "commits","wal_syncs",
 *                                                             "commit_number","created",
 *                                                             "set_id","lineage"},"gc":
 *                                                             null|{"last_run","held",
 *                                                             "orphans_held",...}}
 *                                                            and "last_scrub","last_drill":
 *                                                            null|the job's "last_run"
 *   GET    /usage[?tenant=NAME]                          200 {"usage":[{"tenant","buckets",
 *                                                             "objects","bytes","quota":
 *                                                             null|{"bytes","objects"}}]}
 *                            (exact: kept in each object commit; quota is
 *                            the tenant's own, a limit null when unset)
 *   POST   /quotas           {"tenant":"acme",           200 {"tenant","bucket","max_bytes",
 *                             "bucket":"photos",             "max_objects","objects",
 *                             "max_bytes":N|null,            "bytes"}
 *                             "max_objects":N|null}
 *                            (bucket absent: the tenant's own quota; a
 *                             limit absent is kept, null drops it; a
 *                             quota left with no limit is removed)
 *   GET    /quotas[?tenant=NAME]                         200 {"quotas":[{"tenant","bucket"
 *                                                             (null: the tenant's),
 *                                                             "max_bytes","max_objects",
 *                                                             "objects","bytes"}]}
 *   DELETE /quotas/TENANT[?bucket=NAME]                  200 {"tenant","bucket","removed"}
 *   GET    /disks                                        200 {"disks":[{"index","path","state"
 *                                                             (online|readonly|full|
 *                                                             replacing|offline),
 *                                                             "online","writable","replacing",
 *                                                             "capacity_bytes","used_bytes",
 *                                                             "available_bytes","read_errors",
 *                                                             "write_errors","crc_errors"}],
 *                                                             "heal_pending"}
 *                            (full: under 64 MiB free; replacing: an empty
 *                            directory formatted into a missing disk's place
 *                            that heal --all has not filled yet)
 *   GET    /jobs                                         200 {"jobs":[{"name","state"
 *                                                             (idle|running),"interval_seconds",
 *                                                             "bytes_per_second","progress":
 *                                                             null|{"done","total","phase",
 *                                                             "started"},"last_run":null|
 *                                                             {"start","end","duration_seconds",
 *                                                             "ok","summary","run_id"},
 *                                                             "next_run","runs_ok",
 *                                                             "runs_failed","next_run_id"}]}
 *   GET    /jobs/NAME                                    200 the same for one job, with
 *                                                            "last_report","history" and
 *                                                            "job_state"
 *   POST   /jobs/NAME        {options}                   202 {"name","run_id"}: started
 *                            (409 JobRunning while it runs, 404 NoSuchJob;
 *                             the options are the job's: server/jobs.h)
 *   POST   /heal             {["all":true,"tenant","bucket"]}
 *                                                        200 {"healed_segments",
 *                                                            "heal_failures","pending"}
 *                                                            (all: the heal --all report,
 *                                                            server/jobs.h)
 *                            (the heal job, run now; answered when it ends)
 *   POST   /gc               {"grace_s":3600,            200 {"deleted_segments",
 *                             "force_orphans":false}      "orphan_files","held",
 *                                                            "orphans_held",
 *                                                            "orphans_older_than_index",...}
 *                            (grace_s >= 60: younger files may be a PUT's;
 *                             force_orphans: delete even above the bound; the
 *                             gc job, run now, answered when it ends)
 *   POST   /tiers            {"name":"COLD","type":"s3","endpoint","bucket",
 *                             "prefix","region","access_key","secret_key",
 *                             "storage_class","cacert_pem","virtual_host"}
 *                                                        201 the tier (no secret);
 *                            probed first: write, read back, delete an object;
 *                            a failing step is 400 TierProbeFailed with the
 *                            remote's own message
 *   GET    /tiers                                        200 {"tiers":[status...]}
 *   GET    /tiers/NAME                                   200 status: the settings (no
 *                                                             secret), "objects",
 *                                                             "bytes", "pending",
 *                                                             "uploading", "restoring",
 *                                                             "restored",
 *                                                             "remote_deletes",
 *                                                             "queue", "bytes_per_s",
 *                                                             "last_error",
 *                                                             "last_error_time"
 *   DELETE /tiers/NAME                                   200 {"name","deleted":true};
 *                            409 TierNotEmpty while versions live there
 *   POST   /tiers/NAME       {"recover":true,"after":"ID"} 200 {"listed","added",
 *                                                             "present","key_taken",
 *                                                             "other","unreadable",
 *                                                             "unreadable_message",
 *                                                             "next"}
 *                            coffer tier recover: one page (1,000) of the
 *                            tier's objects back into the index from their
 *                            headers and the master key; "next" ("" at the
 *                            end) is the next page's "after"
 *
 * Every error is {"error":"Code","message":"..."}: 400 for a malformed body
 * or name (InvalidRequest / MalformedJSON), 404 for an unknown route or a
 * missing tenant, key or bucket (NoSuchRoute / NoSuchTenant / NoSuchAccessKey /
 * NoSuchBucket; GET
 * /keys?tenant= of an unknown tenant is simply an empty list), 405
 * for a known route with another method, 409 for a tenant that exists or
 * still owns buckets (TenantExists / TenantNotEmpty), 500 for an engine
 * failure (InternalError, with the engine's message; engine messages never
 * hold secrets). Request bodies must be JSON objects with only the fields
 * listed; anything else is a 400, never a crash. The only secret in any
 * answer is the new key's secret_key in POST /keys; a tier's secret_key
 * goes in (POST /tiers) and never comes out.
 */
#ifndef CF_ADMINAPI_H
#define CF_ADMINAPI_H

#define ADMIN_PREFIX "/admin/v1"
#define ADMIN_MAX_BODY 65536    /* larger request bodies are refused (400) */

#endif
