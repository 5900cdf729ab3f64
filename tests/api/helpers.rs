//! `spawn_app`: a real Leadwire on port 0 with its own in-memory database.

use leadwire::{Application, Config};
use reqwest::{Client, Method, RequestBuilder, Response};
use serde_json::{json, Value};

pub const ADMIN_EMAIL: &str = "admin@example.com";
pub const ADMIN_PASSWORD: &str = "admin-password-1";

pub struct TestApp {
    pub base: String,
    pub client: Client,
    pub ou_id: String,
    pub admin_token: String,
    pub core: leadwire_actors::Core,
}

pub async fn spawn_app() -> TestApp {
    spawn_with(Config::for_tests()).await
}

pub async fn spawn_with(mut config: Config) -> TestApp {
    config.admin_email = Some(ADMIN_EMAIL.into());
    config.admin_password = Some(ADMIN_PASSWORD.into());
    let app = Application::build(config).await.expect("app builds");
    let base = format!("http://{}", app.addr);
    let ou_id = app
        .bootstrap
        .as_ref()
        .map(|b| b.ou_id.clone())
        .unwrap_or_default();
    let core = app.state.core.clone();
    tokio::spawn(app.run_until_stopped());
    let client = Client::builder().build().expect("client");
    let mut t = TestApp {
        base,
        client,
        ou_id,
        admin_token: String::new(),
        core,
    };
    t.admin_token = t.login(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    t
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    pub fn req(&self, method: Method, path: &str, token: &str) -> RequestBuilder {
        self.client
            .request(method, self.url(path))
            .bearer_auth(token)
    }

    pub async fn login(&self, email: &str, password: &str) -> String {
        let r = self
            .client
            .post(self.url("/v1/auth/login"))
            .json(&json!({ "email": email, "password": password }))
            .send()
            .await
            .expect("login request");
        assert_eq!(r.status(), 200, "login of {email}");
        let body: Value = r.json().await.expect("json");
        body["token"].as_str().expect("token").to_string()
    }

    /// Sends and returns (status, JSON body or Null).
    pub async fn call(&self, rb: RequestBuilder) -> (u16, Value) {
        let r: Response = rb.send().await.expect("request");
        let status = r.status().as_u16();
        let text = r.text().await.unwrap_or_default();
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    /// Sends as the admin (with an optional JSON body), asserts the status and returns the
    /// JSON body.
    pub async fn ok(&self, method: Method, path: &str, body: Option<Value>, status: u16) -> Value {
        let mut rb = self.req(method, path, &self.admin_token);
        if let Some(b) = body {
            rb = rb.json(&b);
        }
        let (s, r) = self.call(rb).await;
        assert_eq!(s, status, "{path}: {r}");
        r
    }

    /// The Prometheus text of `/metrics`.
    pub async fn metrics(&self) -> String {
        let r = self.client.get(self.url("/metrics")).send().await;
        r.expect("metrics").text().await.expect("metrics text")
    }

    /// The body of a GET as the admin, as text (CSV exports).
    pub async fn text(&self, path: &str) -> String {
        let r = self.req(Method::GET, path, &self.admin_token).send().await;
        r.expect(path).text().await.expect("body text")
    }

    /// Creates an engagement rule as the admin; the rule.
    pub async fn rule(&self, body: Value) -> Value {
        self.ok(Method::POST, "/v1/rules", Some(body), 201).await
    }

    pub async fn get(&self, path: &str, token: &str) -> (u16, Value) {
        self.call(self.req(Method::GET, path, token)).await
    }

    pub async fn post(&self, path: &str, token: &str, body: Value) -> (u16, Value) {
        self.call(self.req(Method::POST, path, token).json(&body))
            .await
    }

    /// Creates an org member, returning (member id, their JWT).
    pub async fn member(&self, email: &str, role: &str) -> (String, String) {
        let (s, b) = self
            .post(
                "/v1/members",
                &self.admin_token,
                json!({ "first_name": "T", "last_name": "User", "email": email, "password": "password-123", "role": role }),
            )
            .await;
        assert_eq!(s, 201, "{b}");
        let id = b["org_member_id"].as_str().expect("id").to_string();
        (id, self.login(email, "password-123").await)
    }

    /// Creates a member with a role in the default OU.
    pub async fn ou_member(&self, email: &str, ou_role: &str) -> (String, String) {
        let (id, token) = self.member(email, "member").await;
        let (s, b) = self
            .post(
                &format!("/v1/org-units/{}/memberships", self.ou_id),
                &self.admin_token,
                json!({ "org_member_id": id, "role": ou_role }),
            )
            .await;
        assert_eq!(s, 201, "{b}");
        (id, token)
    }

    /// Creates another org unit of the admin's organisation; its id.
    pub async fn new_ou(&self, name: &str) -> String {
        let ou = self
            .ok(
                Method::POST,
                "/v1/org-units",
                Some(json!({ "name": name })),
                201,
            )
            .await;
        ou["unit_id"].as_str().expect("unit id").to_string()
    }

    /// A second organisation on the same server: (its OU id, its admin's id, their JWT).
    pub async fn second_org(&self) -> (String, String, String) {
        let admin = leadwire_store::NewMember {
            first_name: "Other".into(),
            last_name: "Admin".into(),
            email: "other-admin@example.org".into(),
            password_hash: leadwire_models::auth::hash_password("password-123").expect("hash"),
            role: leadwire_models::tenancy::OrgRole::Admin,
        };
        let (_org, ou, member) = self
            .core
            .store
            .create_org_with_admin("Other Org", "Default", "default", &admin)
            .await
            .expect("second org");
        (
            ou.id,
            member.id,
            self.login("other-admin@example.org", "password-123").await,
        )
    }

    pub fn error_code(body: &Value) -> &str {
        body["error"]["code"].as_str().unwrap_or("")
    }

    /// A lead's live score (NaN when it cannot be read).
    pub async fn score(&self, lead: &str) -> f64 {
        let (_, s) = self
            .get(&format!("/v1/leads/{lead}/score"), &self.admin_token)
            .await;
        s["score"].as_f64().unwrap_or(f64::NAN)
    }

    /// The active OU's live stream (`GET /v1/stream`), as the admin.
    pub async fn stream(&self) -> Sse {
        let response = self
            .client
            .get(self.url(&format!("/v1/stream?access_token={}", self.admin_token)))
            .send()
            .await
            .expect("stream request");
        assert_eq!(response.status(), 200);
        let content_type = response.headers()["content-type"].to_str().unwrap_or("");
        assert!(
            content_type.starts_with("text/event-stream"),
            "{content_type}"
        );
        Sse {
            response,
            seen: String::new(),
        }
    }

    /// Uploads a CSV file of events and waits (at most 10 s) for the import job to end;
    /// returns the finished job.
    pub async fn import_csv(&self, rb: RequestBuilder) -> Value {
        let (s, job) = self.call(rb).await;
        assert_eq!(s, 202, "{job}");
        let id = job["job_id"].as_str().unwrap_or_default().to_string();
        for _ in 0..200 {
            let (_, j) = self
                .get(&format!("/v1/events/import/{id}"), &self.admin_token)
                .await;
            if j["status"] == "completed" {
                return j;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        panic!("import {id} did not finish within 10 s");
    }
}

/// An open SSE stream and the text heard on it so far.
pub struct Sse {
    response: Response,
    pub seen: String,
}

impl Sse {
    /// The `score_update` messages about `lead` in `seen` (what a stream heard).
    pub fn score_updates(seen: &str, lead: &str) -> Vec<String> {
        seen.split("\n\n")
            .filter(|m| m.contains("event: score_update") && m.contains(lead))
            .map(str::to_string)
            .collect()
    }

    /// Hears whatever arrives within `window`, then stops listening for now.
    pub async fn catch_up(&mut self, window: std::time::Duration) {
        let _ = tokio::time::timeout(window, self.until(window * 2, |_| false)).await;
    }

    /// Reads until `done` holds for what was heard; panics after `within`.
    pub async fn until(&mut self, within: std::time::Duration, done: impl Fn(&str) -> bool) {
        let deadline = tokio::time::Instant::now() + within;
        while !done(&self.seen) {
            let chunk = tokio::time::timeout_at(deadline, self.response.chunk())
                .await
                .unwrap_or_else(|_| panic!("not heard within {within:?}: {}", self.seen))
                .expect("stream chunk")
                .expect("stream open");
            self.seen.push_str(&String::from_utf8_lossy(&chunk));
        }
    }
}

/// Sends a request and decodes its JSON body (panicking with context on failure).
pub trait SendJson {
    async fn into_json(self) -> Value;
}

impl SendJson for RequestBuilder {
    async fn into_json(self) -> Value {
        let r = self.send().await.expect("request");
        r.json().await.expect("JSON body")
    }
}

/// Starts the real binary on a SurrealKV directory; returns the process, base URL and stdout.
pub async fn start_binary(dir: &std::path::Path) -> (tokio::process::Child, String, String) {
    use tokio::io::{AsyncBufReadExt, BufReader};
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_leadwire"))
        .arg("serve")
        .env(
            "LEADWIRE_DB",
            format!("surrealkv://{}", dir.join("data").display()),
        )
        .env("LEADWIRE_BIND", "127.0.0.1:0")
        .env("LEADWIRE_ADMIN_EMAIL", ADMIN_EMAIL)
        .env("RUST_LOG", "warn")
        .env_remove("LEADWIRE_ADMIN_PASSWORD")
        .current_dir(dir)
        .stdout(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("binary starts");
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut out = String::new();
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(60);
    loop {
        let line = tokio::time::timeout_at(deadline, lines.next_line())
            .await
            .expect("server starts in time")
            .unwrap()
            .expect("output");
        out.push_str(&line);
        out.push('\n');
        if let Some(url) = line.strip_prefix("Leadwire listening on ") {
            let url = url.trim().to_string();
            for _ in 0..4 {
                let line = tokio::time::timeout_at(deadline, lines.next_line())
                    .await
                    .expect("banner")
                    .unwrap()
                    .expect("output");
                out.push_str(&line);
                out.push('\n');
            }
            return (child, url, out);
        }
    }
}

/// Logs in as the admin whose password the binary printed on its first start; the JWT.
pub async fn first_login(client: &Client, base: &str, out: &str) -> String {
    let password = out
        .lines()
        .find_map(|l| l.trim().strip_prefix("admin password: "))
        .and_then(|l| l.split_whitespace().next())
        .expect("generated password")
        .to_string();
    let login: Value = client
        .post(format!("{base}/v1/auth/login"))
        .json(&json!({ "email": ADMIN_EMAIL, "password": password }))
        .into_json()
        .await;
    login["token"].as_str().expect("login works").to_string()
}

/// Sends a request to a server at `base` as `token`; its status and JSON body.
pub fn remote_call(
    client: &Client,
    base: &str,
    token: &str,
    method: Method,
    path: &str,
    body: Option<Value>,
) -> impl std::future::Future<Output = (u16, Value)> + 'static {
    let mut rb = client
        .request(method, format!("{base}{path}"))
        .bearer_auth(token);
    if let Some(b) = body {
        rb = rb.json(&b);
    }
    async move {
        let r = rb.send().await.expect("request");
        (r.status().as_u16(), r.json::<Value>().await.expect("json"))
    }
}
