/*
 * common/adminapi.h - the admin API's contract, spelled once for its two
 * ends: cofferd serves it (server/admin.c, behind the signature check of
 * server/s3auth.c) and `coffer` (cli/) sends it. JSON over HTTP under
 * ADMIN_PREFIX, signed with the admin credential (server/config.h).
 *
 *   POST   /tenants          {"name":"acme"}             201 {"name"}
 *   GET    /tenants                                      200 {"tenants":[{"name","created"}]}
 *   DELETE /tenants/NAME                                 200 {"name","deleted":true}
 *   POST   /keys             {"tenant":"acme","read_only":false}
 *                                                        201 {"access_key","secret_key",
 *                                                             "tenant","read_only"}
 *   GET    /keys[?tenant=NAME]                           200 {"keys":[{"access_key","tenant",
 *                                                             "read_only","created"}]}
 *   DELETE /keys/ACCESS_KEY                              200 {"access_key","deleted":true}
 *   GET    /status                                       200 {"version","layout":{"k","m",
 *                                                             "block_size"},"heal_pending",
 *                                                             "tenants","keys","index":{
 *                                                             "commits","wal_syncs",
 *                                                             "commit_number","created",
 *                                                             "set_id","lineage"},"gc":
 *                                                             null|{"last_run","held",
 *                                                             "orphans_held",...}}
 *   GET    /usage[?tenant=NAME]                          200 {"usage":[{"tenant","buckets",
 *                                                             "objects","bytes","quota":null}]}
 *                            (exact: kept in each object commit; quota is
 *                            reserved for quotas, null today)
 *   GET    /disks                                        200 {"disks":[{"index","path","state"
 *                                                             (online|readonly|offline),
 *                                                             "online","writable",
 *                                                             "capacity_bytes","used_bytes",
 *                                                             "available_bytes","read_errors",
 *                                                             "write_errors","crc_errors"}]}
 *   POST   /heal             {}                          200 {"healed_segments",
 *                                                            "heal_failures",...}
 *   POST   /gc               {"grace_s":3600,            200 {"deleted_segments",
 *                             "force_orphans":false}      "orphan_files","held",
 *                                                            "orphans_held",
 *                                                            "orphans_older_than_index",...}
 *                            (grace_s >= 60: younger files may be a PUT's;
 *                             force_orphans: delete even above the bound)
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
 *
 * Every error is {"error":"Code","message":"..."}: 400 for a malformed body
 * or name (InvalidRequest / MalformedJSON), 404 for an unknown route or a
 * missing tenant or key (NoSuchRoute / NoSuchTenant / NoSuchAccessKey; GET
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
