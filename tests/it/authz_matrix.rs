//! The authorization matrix: every console route and server function, for anonymous and each
//! role, with the expected answer. Later features add rows here.
use crate::common::*;
use reqwest::{Client, StatusCode};

#[derive(Clone, Copy, Debug, PartialEq)]
enum Expect {
    /// 200.
    Allow,
    /// 403 (and an `access.denied` audit record).
    Deny,
    /// A page sends anonymous visitors to the sign-in (303 to /login).
    SignIn,
    /// A server function answers anonymous callers 401.
    Unauthenticated,
    /// Authorized, then refused as bad input (400): the permission check passed, nothing changed.
    Bad,
    /// Authorized, then the target does not exist (404).
    Missing,
    /// Authorized; the page renders its "not found" message (200 or 404, as streaming allows).
    Shown,
    /// The same answer whoever asks (public routes, and routes with their own credentials).
    Is(u16),
}
use Expect::*;

enum Target {
    Page(&'static str),
    /// Server function name and its form-encoded arguments.
    ServerFn(&'static str, &'static str),
    /// A plain HTTP route outside the Leptos app: method and path, sent without a body.
    Http(&'static str, &'static str),
}
use Target::*;

/// (target, anonymous and no role, admin, support, auditor)
const MATRIX: &[(Target, Expect, Expect, Expect, Expect)] = &[
    (Page("/"), SignIn, Allow, Allow, Allow),
    (Page("/audit"), SignIn, Allow, Deny, Allow),
    (Page("/audit?before=10"), SignIn, Allow, Deny, Allow),
    (ServerFn("me", ""), Allow, Allow, Allow, Allow),
    (ServerFn("idp_status", ""), Allow, Allow, Allow, Allow),
    (
        ServerFn("dashboard", ""),
        Unauthenticated,
        Allow,
        Allow,
        Allow,
    ),
    (
        ServerFn("audit_page", ""),
        Unauthenticated,
        Allow,
        Deny,
        Allow,
    ),
    (
        ServerFn("audit_page", "query[before]=5"),
        Unauthenticated,
        Allow,
        Deny,
        Allow,
    ),
    (
        ServerFn("audit_page", "query[action]=user.*&query[range]=24h"),
        Unauthenticated,
        Allow,
        Deny,
        Allow,
    ),
    (
        ServerFn("audit_page", "query[outcome]=maybe"),
        Unauthenticated,
        Bad,
        Deny,
        Bad,
    ),
    (
        Page("/audit?action=user.*&outcome=denied&range=7d"),
        SignIn,
        Allow,
        Deny,
        Allow,
    ),
    (
        Page("/audit/export.csv?range=1h"),
        SignIn,
        Deny,
        Deny,
        Allow,
    ),
    (Page("/audit/export.ndjson"), SignIn, Deny, Deny, Allow),
    (
        ServerFn("audit/verify", ""),
        Unauthenticated,
        Allow,
        Deny,
        Allow,
    ),
    (
        ServerFn("audit/checkpoints", ""),
        Unauthenticated,
        Allow,
        Deny,
        Allow,
    ),
    // One event on its own page (issue 18).
    (Page("/audit/events/1"), SignIn, Allow, Deny, Allow),
    (
        ServerFn("audit/event", "seq=1"),
        Unauthenticated,
        Allow,
        Deny,
        Allow,
    ),
    (
        ServerFn("audit/event", "seq=987654321"),
        Unauthenticated,
        Missing,
        Deny,
        Missing,
    ),

    (
        ServerFn("audit/job", "id=j_missing"),
        Unauthenticated,
        Missing,
        Deny,
        Missing,
    ),
    // Audit streaming to the SIEM (issue 17): the state for everyone who reads the log, the
    // sinks for administrators.
    (Page("/audit/sinks"), SignIn, Allow, Deny, Deny),
    (Page("/audit/sinks/snk_missing"), SignIn, Shown, Deny, Deny),
    (
        ServerFn("audit/sinks/list", ""),
        Unauthenticated,
        Allow,
        Deny,
        Allow,
    ),
    (
        ServerFn("audit/sinks/get", "id=snk_missing"),
        Unauthenticated,
        Missing,
        Deny,
        Missing,
    ),
    (
        ServerFn("audit/sinks/create", "input[name]="),
        Unauthenticated,
        Bad,
        Deny,
        Deny,
    ),
    (
        ServerFn(
            "audit/sinks/save",
            "id=snk_missing&version=1&input[name]=S&input[kind]=ndjson&input[url]=https://siem.example.com/in",
        ),
        Unauthenticated,
        Missing,
        Deny,
        Deny,
    ),
    (
        ServerFn("audit/sinks/status", "id=snk_missing&status=paused"),
        Unauthenticated,
        Missing,
        Deny,
        Deny,
    ),
    (
        ServerFn("audit/sinks/replay", "id=snk_missing&from=1"),
        Unauthenticated,
        Missing,
        Deny,
        Deny,
    ),
    (
        ServerFn("audit/sinks/delete", "id=snk_missing"),
        Unauthenticated,
        Missing,
        Deny,
        Deny,
    ),
    // Users and GUIDs
    (Page("/users"), SignIn, Allow, Allow, Allow),
    (
        Page("/users?q=ada&status=active"),
        SignIn,
        Allow,
        Allow,
        Allow,
    ),
    (Page("/users/new"), SignIn, Allow, Deny, Deny),
    (
        Page("/users/export.csv?status=locked"),
        SignIn,
        Allow,
        Deny,
        Deny,
    ),
    (
        ServerFn("users/list", "query[sort]=name"),
        Unauthenticated,
        Allow,
        Allow,
        Allow,
    ),
    (
        ServerFn("users/list", "query[q]=ada"),
        Unauthenticated,
        Allow,
        Allow,
        Allow,
    ),
    (
        ServerFn("users/get", "id=u_missing"),
        Unauthenticated,
        Missing,
        Missing,
        Missing,
    ),
    (
        ServerFn("users/trail", "id=u_missing"),
        Unauthenticated,
        Allow,
        Allow,
        Allow,
    ),
    (
        ServerFn("users/create", "input[email]=bad"),
        Unauthenticated,
        Bad,
        Deny,
        Deny,
    ),
    (
        ServerFn("users/update", "id=u_missing&version=1&input[email]=bad"),
        Unauthenticated,
        Bad,
        Deny,
        Deny,
    ),
    (
        ServerFn("users/status", "id=u_missing&status=active&version=1"),
        Unauthenticated,
        Missing,
        Deny,
        Deny,
    ),
    (
        ServerFn("users/unlock", "id=u_missing&version=1"),
        Unauthenticated,
        Missing,
        Missing,
        Deny,
    ),
    (
        ServerFn("users/relink", "id=u_missing"),
        Unauthenticated,
        Missing,
        Deny,
        Deny,
    ),
    (
        ServerFn("guids/get", "id=g_missing"),
        Unauthenticated,
        Missing,
        Missing,
        Missing,
    ),
    (
        ServerFn("guids/merge", "survivor=g_a&absorbed=g_a"),
        Unauthenticated,
        Bad,
        Deny,
        Deny,
    ),
    // People, duplicates, bulk actions, import and jobs
    (Page("/guids"), SignIn, Allow, Allow, Allow),
    (Page("/guids?q=ada"), SignIn, Allow, Allow, Allow),
    (
        Page("/guids?view=duplicates&reason=phone"),
        SignIn,
        Allow,
        Allow,
        Allow,
    ),
    (Page("/users/import"), SignIn, Allow, Deny, Deny),
    (Page("/users/jobs/j_missing"), SignIn, Shown, Deny, Deny),
    (
        Page("/users/export.csv?ids=u_a,u_b"),
        SignIn,
        Allow,
        Deny,
        Deny,
    ),
    (
        ServerFn("guids/list", "query[q]="),
        Unauthenticated,
        Allow,
        Allow,
        Allow,
    ),
    (
        ServerFn("guids/duplicates", "reason=phone&after="),
        Unauthenticated,
        Allow,
        Allow,
        Allow,
    ),
    (
        ServerFn("guids/duplicates_of", "id=g_missing"),
        Unauthenticated,
        Allow,
        Allow,
        Allow,
    ),
    (
        ServerFn("users/bulk", "action=explode&ids[0]=u_missing"),
        Unauthenticated,
        Bad,
        Deny,
        Deny,
    ),
    (
        ServerFn("users/count", "query[q]=ada"),
        Unauthenticated,
        Allow,
        Allow,
        Allow,
    ),
    (
        ServerFn("jobs/get", "id=j_missing"),
        Unauthenticated,
        Missing,
        Deny,
        Deny,
    ),
    // Applications and API keys
    (Page("/apps"), SignIn, Allow, Allow, Allow),
    (
        Page("/apps?q=pay&status=active"),
        SignIn,
        Allow,
        Allow,
        Allow,
    ),
    (Page("/apps/new"), SignIn, Allow, Deny, Deny),
    (Page("/apps/app_missing"), SignIn, Shown, Shown, Shown),
    (Page("/groups"), SignIn, Allow, Allow, Allow),
    (
        Page("/groups?q=eng&source=console"),
        SignIn,
        Allow,
        Allow,
        Allow,
    ),
    (Page("/groups/grp_missing"), SignIn, Shown, Shown, Shown),
    (
        ServerFn("groups/list", "query[q]="),
        Unauthenticated,
        Allow,
        Allow,
        Allow,
    ),
    (
        ServerFn("groups/get", "id=grp_missing"),
        Unauthenticated,
        Missing,
        Missing,
        Missing,
    ),
    (
        ServerFn("groups/members", "id=grp_missing&after="),
        Unauthenticated,
        Missing,
        Missing,
        Missing,
    ),
    (
        ServerFn("groups/create", "input[name]="),
        Unauthenticated,
        Bad,
        Deny,
        Deny,
    ),
    (
        ServerFn("groups/update", "id=grp_missing&version=1&input[name]=x"),
        Unauthenticated,
        Missing,
        Deny,
        Deny,
    ),
    (
        ServerFn("groups/delete", "id=grp_missing"),
        Unauthenticated,
        Missing,
        Deny,
        Deny,
    ),
    (
        ServerFn(
            "groups/add_member",
            "id=grp_missing&user=nobody%40example.com",
        ),
        Unauthenticated,
        Missing,
        Deny,
        Deny,
    ),
    (
        ServerFn("groups/remove_member", "id=grp_missing&user_id=u_missing"),
        Unauthenticated,
        Missing,
        Deny,
        Deny,
    ),
    (
        ServerFn("groups/of_user", "user_id=u_missing"),
        Unauthenticated,
        Allow,
        Allow,
        Allow,
    ),
    (
        ServerFn("groups/of_person", "guid=g_missing"),
        Unauthenticated,
        Allow,
        Allow,
        Allow,
    ),
    (Page("/keys"), SignIn, Allow, Allow, Allow),
    (Page("/keys?expiring_days=30"), SignIn, Allow, Allow, Allow),
    (Page("/keys/missing"), SignIn, Shown, Shown, Shown),
    (
        ServerFn("apps/list", "query[q]="),
        Unauthenticated,
        Allow,
        Allow,
        Allow,
    ),
    (
        ServerFn("apps/list", "query[kind]=mainframe"),
        Unauthenticated,
        Bad,
        Bad,
        Bad,
    ),
    (
        ServerFn("apps/get", "id=app_missing"),
        Unauthenticated,
        Missing,
        Missing,
        Missing,
    ),
    (
        ServerFn("apps/create", "input[name]="),
        Unauthenticated,
        Bad,
        Deny,
        Deny,
    ),
    (
        ServerFn("apps/update", "id=app_missing&version=1&input[name]=x"),
        Unauthenticated,
        Missing,
        Deny,
        Deny,
    ),
    (
        ServerFn("apps/status", "id=app_missing&status=disabled"),
        Unauthenticated,
        Missing,
        Deny,
        Deny,
    ),
    (
        ServerFn("apps/rotate_secret", "id=app_missing&grace=3600"),
        Unauthenticated,
        Missing,
        Deny,
        Deny,
    ),
    (
        ServerFn("apps/revoke_secret", "id=app_missing&secret_id=cs_x"),
        Unauthenticated,
        Missing,
        Deny,
        Deny,
    ),
    (
        ServerFn("apps/assignments", "id=app_missing"),
        Unauthenticated,
        Missing,
        Missing,
        Missing,
    ),
    (
        ServerFn("apps/assign", "id=app_missing&person=g_x"),
        Unauthenticated,
        Missing,
        Deny,
        Deny,
    ),
    (
        ServerFn("apps/unassign", "id=app_missing&guid=g_x"),
        Unauthenticated,
        Missing,
        Deny,
        Deny,
    ),
    (
        ServerFn("apps/groups", "id=app_missing"),
        Unauthenticated,
        Missing,
        Missing,
        Missing,
    ),
    (
        ServerFn("apps/assign_group", "id=app_missing&group=x"),
        Unauthenticated,
        Missing,
        Deny,
        Deny,
    ),
    (
        ServerFn("apps/unassign_group", "id=app_missing&group_id=grp_x"),
        Unauthenticated,
        Missing,
        Deny,
        Deny,
    ),
    (
        ServerFn("provisioning/get", "id=app_missing"),
        Unauthenticated,
        Missing,
        Missing,
        Missing,
    ),
    (
        ServerFn(
            "provisioning/save",
            "id=app_missing&version=0&input[base_url]=https://scim.example.com&input[credential]=t",
        ),
        Unauthenticated,
        Missing,
        Deny,
        Deny,
    ),
    (
        ServerFn("provisioning/retry", "id=app_missing"),
        Unauthenticated,
        Missing,
        Deny,
        Deny,
    ),
    (
        ServerFn("provisioning/replay", "id=app_missing&seq=1"),
        Unauthenticated,
        Missing,
        Deny,
        Deny,
    ),
    (
        ServerFn("provisioning/reconciliation", "id=app_missing"),
        Unauthenticated,
        Missing,
        Missing,
        Missing,
    ),
    (
        ServerFn("provisioning/reconcile", "id=app_missing"),
        Unauthenticated,
        Missing,
        Deny,
        Deny,
    ),
    (
        ServerFn("provisioning/fix", "id=app_missing&guid=g_x"),
        Unauthenticated,
        Missing,
        Deny,
        Deny,
    ),
    (
        ServerFn("provisioning/fix", "id=app_missing&guid="),
        Unauthenticated,
        Bad,
        Deny,
        Deny,
    ),
    (
        ServerFn("provisioning/fix_all", "id=app_missing"),
        Unauthenticated,
        Missing,
        Deny,
        Deny,
    ),
    (
        ServerFn("provisioning/of_person", "guid=g_missing"),
        Unauthenticated,
        Allow,
        Allow,
        Allow,
    ),
    (
        ServerFn("apps/of_person", "guid=g_missing"),
        Unauthenticated,
        Allow,
        Allow,
        Allow,
    ),
    (
        ServerFn("keys/list", "query[status]="),
        Unauthenticated,
        Allow,
        Allow,
        Allow,
    ),
    (
        ServerFn("keys/list", "query[unused_days]=-4"),
        Unauthenticated,
        Bad,
        Bad,
        Bad,
    ),
    (
        ServerFn("keys/of_user", "user_id=u_missing"),
        Unauthenticated,
        Allow,
        Allow,
        Allow,
    ),
    (
        ServerFn("keys/get", "id=missing"),
        Unauthenticated,
        Missing,
        Missing,
        Missing,
    ),
    (
        ServerFn("keys/create", "input[application_id]=app_missing"),
        Unauthenticated,
        Missing,
        Deny,
        Deny,
    ),
    (
        ServerFn("keys/rotate", "id=missing&grace=0"),
        Unauthenticated,
        Missing,
        Deny,
        Deny,
    ),
    (
        ServerFn("keys/revoke", "id=missing"),
        Unauthenticated,
        Missing,
        Deny,
        Deny,
    ),
    (
        ServerFn("keys/expiry", "id=missing&expires="),
        Unauthenticated,
        Missing,
        Deny,
        Deny,
    ),
    (
        ServerFn("audit/start_export", "format=csv"),
        Unauthenticated,
        Deny,
        Deny,
        Allow,
    ),
    (
        ServerFn("audit/start_export", "format=pdf"),
        Unauthenticated,
        Deny,
        Deny,
        Bad,
    ),
    // Support desk: MFA factors, the MFA reset, devices
    (Page("/support"), SignIn, Allow, Allow, Deny),
    (Page("/support?q=ada"), SignIn, Allow, Allow, Deny),
    (Page("/devices"), SignIn, Allow, Allow, Allow),
    (
        Page("/devices?state=blocked&stale_days=30&platform=ios"),
        SignIn,
        Allow,
        Allow,
        Allow,
    ),
    (
        Page("/enroll/not-a-token"),
        Missing,
        Missing,
        Missing,
        Missing,
    ),
    (
        ServerFn("mfa/factors", "user_id=u_missing"),
        Unauthenticated,
        Missing,
        Missing,
        Missing,
    ),
    (
        ServerFn("mfa/factors_of_guid", "id=g_missing"),
        Unauthenticated,
        Missing,
        Missing,
        Missing,
    ),
    (
        ServerFn("mfa/factors/add", "user_id=u_missing&input[kind]=bogus"),
        Unauthenticated,
        Bad,
        Deny,
        Deny,
    ),
    (
        ServerFn("mfa/factors/remove", "user_id=u_missing&factor_id=f_x"),
        Unauthenticated,
        Missing,
        Deny,
        Deny,
    ),
    (
        ServerFn("mfa/options", ""),
        Unauthenticated,
        Allow,
        Allow,
        Deny,
    ),
    (
        ServerFn("mfa/reset", "input[user_id]=u_missing"),
        Unauthenticated,
        Bad,
        Bad,
        Deny,
    ),
    (
        ServerFn("support/recent", ""),
        Unauthenticated,
        Allow,
        Allow,
        Deny,
    ),
    (
        ServerFn("support/search", "q=ada"),
        Unauthenticated,
        Allow,
        Allow,
        Deny,
    ),
    (
        ServerFn("support/glance", "id=u_missing"),
        Unauthenticated,
        Missing,
        Missing,
        Missing,
    ),
    (
        ServerFn("devices/list", "query[state]=blocked"),
        Unauthenticated,
        Allow,
        Allow,
        Allow,
    ),
    (
        ServerFn("devices/list", "query[state]=shiny"),
        Unauthenticated,
        Bad,
        Bad,
        Bad,
    ),
    (
        ServerFn("devices/of_user", "id=u_missing"),
        Unauthenticated,
        Missing,
        Missing,
        Missing,
    ),
    (
        ServerFn("devices/of_guid", "id=g_missing"),
        Unauthenticated,
        Missing,
        Missing,
        Missing,
    ),
    (
        ServerFn("devices/register", "user_id=u_missing&input[name]=x"),
        Unauthenticated,
        Bad,
        Deny,
        Deny,
    ),
    (
        ServerFn("devices/trust", "id=d_missing"),
        Unauthenticated,
        Missing,
        Deny,
        Deny,
    ),
    (
        ServerFn("devices/untrust", "id=d_missing"),
        Unauthenticated,
        Missing,
        Missing,
        Deny,
    ),
    (
        ServerFn("devices/block", "id=d_missing"),
        Unauthenticated,
        Missing,
        Deny,
        Deny,
    ),
    (
        ServerFn("devices/remove", "id=d_missing"),
        Unauthenticated,
        Missing,
        Deny,
        Deny,
    ),
    (
        ServerFn("devices/bulk_block", "days=0"),
        Unauthenticated,
        Bad,
        Deny,
        Deny,
    ),
    (Page("/sessions"), SignIn, Allow, Deny, Deny),
    (Page("/users/jobs/j_unknown"), SignIn, Shown, Deny, Deny),
    (
        ServerFn("sessions/list", ""),
        Unauthenticated,
        Allow,
        Deny,
        Deny,
    ),
    (
        ServerFn(
            "sessions/end",
            "id=0000000000000000000000000000000000000000000000000000000000000000",
        ),
        Unauthenticated,
        Missing,
        Deny,
        Deny,
    ),
    (
        ServerFn("sessions/end", "id=x"),
        Unauthenticated,
        Bad,
        Deny,
        Deny,
    ),
    // Instances and their background work (issue 17), the version and the effective
    // configuration (issue 18): administrators and auditors.
    (Page("/system"), SignIn, Allow, Deny, Allow),
    (
        ServerFn("system/background", ""),
        Unauthenticated,
        Allow,
        Deny,
        Allow,
    ),
    (
        ServerFn("system/info", ""),
        Unauthenticated,
        Allow,
        Deny,
        Allow,
    ),
    // Service accounts and personal access tokens (issue 13)
    (Page("/sources"), SignIn, Allow, Deny, Deny),
    (Page("/sources/missing"), SignIn, Shown, Deny, Deny),
    (
        ServerFn("sources/list", ""),
        Unauthenticated,
        Allow,
        Deny,
        Deny,
    ),
    (
        ServerFn("sources/get", "id=missing"),
        Unauthenticated,
        Missing,
        Deny,
        Deny,
    ),
    (
        ServerFn("sources/create", "input[id]="),
        Unauthenticated,
        Bad,
        Deny,
        Deny,
    ),
    (
        ServerFn("sources/rotate_token", "id=missing"),
        Unauthenticated,
        Missing,
        Deny,
        Deny,
    ),
    (
        ServerFn("sources/status", "id=missing&status=disabled"),
        Unauthenticated,
        Missing,
        Deny,
        Deny,
    ),
    // Webhook endpoints (issue 15): administrators only.
    (Page("/webhooks"), SignIn, Allow, Deny, Deny),
    (Page("/webhooks/wh_missing"), SignIn, Shown, Deny, Deny),
    (
        ServerFn("webhooks/list", ""),
        Unauthenticated,
        Allow,
        Deny,
        Deny,
    ),
    (
        ServerFn("webhooks/get", "id=wh_missing"),
        Unauthenticated,
        Missing,
        Deny,
        Deny,
    ),
    (
        ServerFn("webhooks/create", "input[url]="),
        Unauthenticated,
        Bad,
        Deny,
        Deny,
    ),
    (
        ServerFn(
            "webhooks/save",
            "id=wh_missing&version=1&input[url]=https://hooks.example.com&input[events][0]=*",
        ),
        Unauthenticated,
        Missing,
        Deny,
        Deny,
    ),
    (
        ServerFn("webhooks/rotate", "id=wh_missing"),
        Unauthenticated,
        Missing,
        Deny,
        Deny,
    ),
    (
        ServerFn("webhooks/delete", "id=wh_missing"),
        Unauthenticated,
        Missing,
        Deny,
        Deny,
    ),
    (
        ServerFn("webhooks/retry", "id=wh_missing"),
        Unauthenticated,
        Missing,
        Deny,
        Deny,
    ),
    (
        ServerFn("webhooks/replay", "id=wh_missing&seq=1"),
        Unauthenticated,
        Missing,
        Deny,
        Deny,
    ),
    // Revoke everywhere (administrators) and sign out everywhere (support too), issue 16.
    (
        Page("/guids/g_missing/revocations/rev_missing"),
        SignIn,
        Shown,
        Shown,
        Shown,
    ),
    (
        ServerFn(
            "people/revoke_everywhere",
            "guid=g_missing&reason=Stolen+laptop&ticket=",
        ),
        Unauthenticated,
        Missing,
        Deny,
        Deny,
    ),
    (
        ServerFn(
            "people/sign_out_everywhere",
            "guid=g_missing&reason=Stolen+laptop&ticket=",
        ),
        Unauthenticated,
        Missing,
        Missing,
        Deny,
    ),
    (
        ServerFn("revocations/get", "id=rev_missing"),
        Unauthenticated,
        Missing,
        Missing,
        Missing,
    ),
    (
        ServerFn("people/revocations", "guid=g_missing"),
        Unauthenticated,
        Missing,
        Missing,
        Missing,
    ),
    // Shared Signals receivers (issue 16): administrators only.
    (Page("/signals"), SignIn, Allow, Deny, Deny),
    (Page("/signals/ssf_missing"), SignIn, Shown, Deny, Deny),
    // Its transmitters (Gatehouse receives): the same page guard.
    (
        Page("/signals/transmitters/ssft_missing"),
        SignIn,
        Shown,
        Deny,
        Deny,
    ),
    (
        ServerFn("signals/list", ""),
        Unauthenticated,
        Allow,
        Deny,
        Deny,
    ),
    (
        ServerFn("signals/get", "id=ssf_missing"),
        Unauthenticated,
        Missing,
        Deny,
        Deny,
    ),
    (
        ServerFn("signals/create", "input[name]="),
        Unauthenticated,
        Bad,
        Deny,
        Deny,
    ),
    (
        ServerFn(
            "signals/save",
            "id=ssf_missing&version=1&input[name]=R&input[audience]=https://r.example",
        ),
        Unauthenticated,
        Missing,
        Deny,
        Deny,
    ),
    (
        ServerFn("signals/rotate", "id=ssf_missing"),
        Unauthenticated,
        Missing,
        Deny,
        Deny,
    ),
    (
        ServerFn("signals/status", "id=ssf_missing&status=paused&reason="),
        Unauthenticated,
        Missing,
        Deny,
        Deny,
    ),
    (
        ServerFn("signals/delete", "id=ssf_missing"),
        Unauthenticated,
        Missing,
        Deny,
        Deny,
    ),
    (
        ServerFn("signals/retry", "id=ssf_missing"),
        Unauthenticated,
        Missing,
        Deny,
        Deny,
    ),
    (
        ServerFn("signals/replay", "id=ssf_missing&seq=1"),
        Unauthenticated,
        Missing,
        Deny,
        Deny,
    ),
    // Shared Signals transmitters (Gatehouse as receiver): administrators only.
    (
        ServerFn("signals/transmitters/list", ""),
        Unauthenticated,
        Allow,
        Deny,
        Deny,
    ),
    (
        ServerFn("signals/transmitters/get", "id=sst_missing"),
        Unauthenticated,
        Missing,
        Deny,
        Deny,
    ),
    (
        ServerFn("signals/transmitters/create", "input[name]="),
        Unauthenticated,
        Bad,
        Deny,
        Deny,
    ),
    (
        ServerFn(
            "signals/transmitters/save",
            "id=sst_missing&version=1&input[name]=T&input[issuer]=https://idp.example",
        ),
        Unauthenticated,
        Missing,
        Deny,
        Deny,
    ),
    (
        ServerFn(
            "signals/transmitters/status",
            "id=sst_missing&status=disabled",
        ),
        Unauthenticated,
        Missing,
        Deny,
        Deny,
    ),
    (
        ServerFn("signals/transmitters/keys", "id=sst_missing"),
        Unauthenticated,
        Missing,
        Deny,
        Deny,
    ),
    (
        ServerFn("signals/transmitters/delete", "id=sst_missing"),
        Unauthenticated,
        Missing,
        Deny,
        Deny,
    ),
    (Page("/service-accounts"), SignIn, Allow, Deny, Deny),
    (
        Page("/service-accounts/sa_missing"),
        SignIn,
        Shown,
        Deny,
        Deny,
    ),
    (Page("/tokens"), SignIn, Allow, Deny, Deny),
    (Page("/my-tokens"), SignIn, Allow, Allow, Allow),
    (
        ServerFn("service-accounts/list", "after="),
        Unauthenticated,
        Allow,
        Deny,
        Deny,
    ),
    (
        ServerFn("service-accounts/list", "after=garbage"),
        Unauthenticated,
        Bad,
        Deny,
        Deny,
    ),
    (
        ServerFn("service-accounts/get", "id=sa_missing"),
        Unauthenticated,
        Missing,
        Deny,
        Deny,
    ),
    (
        ServerFn("service-accounts/create", "input[name]="),
        Unauthenticated,
        Bad,
        Deny,
        Deny,
    ),
    (
        ServerFn(
            "service-accounts/status",
            "id=sa_missing&status=disabled&version=1",
        ),
        Unauthenticated,
        Missing,
        Deny,
        Deny,
    ),
    (
        ServerFn("service-accounts/tokens", "id=sa_missing"),
        Unauthenticated,
        Missing,
        Deny,
        Deny,
    ),
    (
        ServerFn(
            "service-accounts/issue-token",
            "id=sa_missing&input[name]=x&input[days]=1",
        ),
        Unauthenticated,
        Missing,
        Deny,
        Deny,
    ),
    (
        ServerFn("tokens/rotate", "id=missing"),
        Unauthenticated,
        Missing,
        Deny,
        Deny,
    ),
    (
        ServerFn("tokens/revoke", "id=missing"),
        Unauthenticated,
        Missing,
        Deny,
        Deny,
    ),
    (
        ServerFn("tokens/personal", "after="),
        Unauthenticated,
        Allow,
        Deny,
        Deny,
    ),
    (
        ServerFn("tokens/mine", ""),
        Unauthenticated,
        Allow,
        Allow,
        Allow,
    ),
    (
        ServerFn("tokens/issue-personal", "input[name]="),
        Unauthenticated,
        Bad,
        Bad,
        Bad,
    ),
    (
        ServerFn("tokens/revoke-mine", "id=missing"),
        Unauthenticated,
        Missing,
        Missing,
        Missing,
    ),
    // The routes outside the Leptos app (src/server/startup.rs).
    (Http("GET", "/login"), Is(303), Is(303), Is(303), Is(303)),
    (
        Http("GET", "/auth/callback"),
        Is(400),
        Is(400),
        Is(400),
        Is(400),
    ),
    (Http("GET", "/users/export.csv"), SignIn, Allow, Deny, Deny),
    (Http("GET", "/audit/export.csv"), SignIn, Deny, Deny, Allow),
    (
        Http("GET", "/audit/export.ndjson"),
        SignIn,
        Deny,
        Deny,
        Allow,
    ),
    (
        Http("POST", "/users/import"),
        Unauthenticated,
        Bad,
        Deny,
        Deny,
    ),
    // Gateways authenticate with their own key; a console session is no credential here.
    (
        Http("POST", "/api/v1/keys/verify"),
        Is(401),
        Is(401),
        Is(401),
        Is(401),
    ),
    (
        Http("GET", "/enroll/unknown-token"),
        Is(404),
        Is(404),
        Is(404),
        Is(404),
    ),
    (
        Http("POST", "/enroll/unknown-token"),
        Is(404),
        Is(404),
        Is(404),
        Is(404),
    ),
    // Shared Signals: discovery is public; the stream API takes a receiver's token, never a
    // console session (tests/it/signals.rs covers the token itself).
    (
        Http("GET", "/.well-known/ssf-configuration"),
        Is(200),
        Is(200),
        Is(200),
        Is(200),
    ),
    (
        Http("GET", "/.well-known/jwks.json"),
        Is(200),
        Is(200),
        Is(200),
        Is(200),
    ),
    (
        Http("GET", "/ssf/streams"),
        Is(401),
        Is(401),
        Is(401),
        Is(401),
    ),
    (
        Http("POST", "/ssf/streams"),
        Is(401),
        Is(401),
        Is(401),
        Is(401),
    ),
    (
        Http("PATCH", "/ssf/streams"),
        Is(401),
        Is(401),
        Is(401),
        Is(401),
    ),
    (
        Http("PUT", "/ssf/streams"),
        Is(401),
        Is(401),
        Is(401),
        Is(401),
    ),
    (
        Http("DELETE", "/ssf/streams"),
        Is(401),
        Is(401),
        Is(401),
        Is(401),
    ),
    (
        Http("GET", "/ssf/status"),
        Is(401),
        Is(401),
        Is(401),
        Is(401),
    ),
    (
        Http("POST", "/ssf/status"),
        Is(401),
        Is(401),
        Is(401),
        Is(401),
    ),
    (
        Http("POST", "/ssf/subjects:add"),
        Is(401),
        Is(401),
        Is(401),
        Is(401),
    ),
    (
        Http("POST", "/ssf/subjects:remove"),
        Is(401),
        Is(401),
        Is(401),
        Is(401),
    ),
    (
        Http("POST", "/ssf/verify"),
        Is(401),
        Is(401),
        Is(401),
        Is(401),
    ),
    // The push endpoint is public, authenticated by each token's signature: a request without a
    // token is refused alike for everyone (tests/it/signals_in.rs covers the tokens).
    (
        Http("POST", "/ssf/receive"),
        Is(400),
        Is(400),
        Is(400),
        Is(400),
    ),
    (Http("GET", "/healthz"), Is(200), Is(200), Is(200), Is(200)),
    (Http("GET", "/readyz"), Is(200), Is(200), Is(200), Is(200)),
    // Served only with GATEHOUSE_METRICS_TOKEN (none here), whose bearer is the only credential:
    // a console session never is (tests/it/metrics.rs covers the token).
    (Http("GET", "/metrics"), Is(404), Is(404), Is(404), Is(404)),
];

/// Routes whose authorization is proven by a test of its own rather than a row, with that test.
const COVERED_ELSEWHERE: &[(&str, &str)] = &[(
    "/logout",
    "sign_in::sign_out_ends_the_session_and_the_providers (it ends the session the rows use)",
)];

/// Status, `Location` and body of one request.
type Answer = (StatusCode, Option<String>, String);

async fn answer(app: &TestApp, client: &Client, target: &Target) -> Answer {
    let res = match target {
        Page(path) => client
            .get(format!("{}{path}", app.url))
            .send()
            .await
            .unwrap_or_else(|e| panic!("GET {path}: {e}")),
        ServerFn(name, args) => app.call(client, name, args).await,
        Http(method, path) => client
            .request(method.parse().unwrap(), format!("{}{path}", app.url))
            .send()
            .await
            .unwrap_or_else(|e| panic!("{method} {path}: {e}")),
    };
    let loc = res
        .headers()
        .get("location")
        .and_then(|l| l.to_str().ok())
        .map(str::to_string);
    let status = res.status();
    (status, loc, res.text().await.unwrap_or_default())
}

fn check(expect: Expect, (status, location, body): Answer) -> Result<(), String> {
    let ok = match expect {
        Allow => status == StatusCode::OK,
        Deny => status == StatusCode::FORBIDDEN,
        SignIn => {
            status == StatusCode::SEE_OTHER
                && location
                    .as_deref()
                    .is_some_and(|l| l.starts_with("/login?return_to="))
        }
        Unauthenticated => status == StatusCode::UNAUTHORIZED,
        Bad => status == StatusCode::BAD_REQUEST,
        Missing => status == StatusCode::NOT_FOUND,
        // The page itself says so: a 200 with an empty or foreign page would not do.
        Shown => {
            (status == StatusCode::OK || status == StatusCode::NOT_FOUND)
                && body.contains("was not found")
        }
        Is(code) => status.as_u16() == code,
    };
    if ok {
        Ok(())
    } else {
        let start: String = body.chars().take(200).collect();
        Err(format!(
            "expected {expect:?}, got {status} {location:?}: {start}"
        ))
    }
}

#[tokio::test]
async fn every_route_and_server_function_for_every_role() {
    let app = TestApp::spawn().await;
    let anonymous = browser();
    // Signed in at the provider, but in no group mapped to a role: refused at the callback, so
    // every route must answer exactly as for an anonymous visitor.
    let no_role = browser();
    assert_eq!(
        app.sign_in_with(&no_role, NOBODY).await.status(),
        StatusCode::FORBIDDEN
    );
    let mut signed_in = Vec::new();
    for email in [ADMIN, SUPPORT, AUDITOR] {
        let client = browser();
        assert_eq!(
            app.sign_in_with(&client, email).await.status(),
            StatusCode::SEE_OTHER
        );
        signed_in.push((email, client));
    }
    let mut failures = Vec::new();
    for (target, anon, admin, support, auditor) in MATRIX {
        let name = match target {
            Page(p) => format!("GET {p}"),
            ServerFn(f, a) => format!("server fn {f}({a})"),
            Http(m, p) => format!("{m} {p}"),
        };
        let denied_before = denied_count(&app).await;
        let mut expected_denials = 0;
        let cases = [
            ("anonymous", &anonymous, *anon),
            ("no role", &no_role, *anon),
            (ADMIN, &signed_in[0].1, *admin),
            (SUPPORT, &signed_in[1].1, *support),
            (AUDITOR, &signed_in[2].1, *auditor),
        ];
        for (who, client, expect) in cases {
            if expect == Deny {
                expected_denials += 1;
            }
            if let Err(e) = check(expect, answer(&app, client, target).await) {
                failures.push(format!("{name} as {who}: {e}"));
            }
        }
        let denied = denied_count(&app).await - denied_before;
        if denied != expected_denials {
            failures.push(format!(
                "{name}: {denied} access.denied audit records, expected {expected_denials}"
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "authorization matrix failures:\n{}",
        failures.join("\n")
    );
}

async fn denied_count(app: &TestApp) -> usize {
    app.audit_events()
        .await
        .iter()
        .filter(|e| e.action == "access.denied")
        .count()
}

#[tokio::test]
async fn denied_access_names_the_missing_permission() {
    let app = TestApp::spawn().await;
    app.sign_in(SUPPORT).await;
    let res = app.call(&app.client, "audit_page", "").await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    let body = res.text().await.unwrap();
    assert!(body.contains("read the audit log"), "{body}");
    let e = app.audit_events().await.pop().unwrap();
    assert_eq!(e.action, "access.denied");
    assert_eq!(e.actor_email.as_deref(), Some(SUPPORT));
    assert!(
        e.details.contains("audit.read") && e.details.contains("/api/audit_page"),
        "{}",
        e.details
    );
}

/// The matrix is complete: every registered server function, every console page and every route
/// of the router has at least one row (or a named test of its own). A new one without a row
/// fails here.
#[test]
fn every_server_function_page_and_route_has_a_row() {
    use std::collections::HashSet;
    let mut rows = HashSet::new();
    for (target, ..) in MATRIX {
        rows.insert(match target {
            Page(p) => p.split('?').next().unwrap().to_string(),
            ServerFn(f, _) => format!("/api/{f}"),
            Http(_, p) => p.to_string(),
        });
    }
    for (route, _) in COVERED_ELSEWHERE {
        rows.insert(route.to_string());
    }
    let mut missing = Vec::new();
    let server_fns: Vec<&str> = leptos::server_fn::axum::server_fn_paths()
        .map(|(path, _)| path)
        .collect();
    assert!(
        server_fns.len() > 40,
        "server functions are registered: {server_fns:?}"
    );
    missing.extend(
        server_fns
            .iter()
            .filter(|p| !rows.contains(**p))
            .map(|p| p.to_string()),
    );
    // A page prefix is covered by a row for it or for a page below it (`/users/jobs/<id>`).
    for (page, _, _) in gatehouse::model::access::PAGES {
        if !rows
            .iter()
            .any(|r| r == page || r.starts_with(&format!("{page}/")))
        {
            missing.push(page.to_string());
        }
    }
    // The router's own routes, read from where they are declared.
    let startup = concat!(
        include_str!("../../src/server/startup.rs"),
        include_str!("../../src/server/http/ssf.rs"),
        include_str!("../../src/server/http/ssf_receive.rs")
    );
    let routes: Vec<String> = startup
        .split(".route(")
        .skip(1)
        .filter_map(|rest| rest.trim_start().strip_prefix('"')?.split('"').next())
        .map(|r| r.replace("{token}", "unknown-token"))
        .collect();
    assert!(routes.len() >= 10, "routes found in startup.rs: {routes:?}");
    missing.extend(routes.into_iter().filter(|r| !rows.contains(r)));
    assert!(
        missing.is_empty(),
        "no authorization matrix row for: {missing:?}"
    );
}
