//! Waiting until a stack started in the background is ready, as Compose reports it.
//!
//! The rule: every service Compose started (`docker compose ... ps --all --format json`) is
//! running, and healthy where it has a healthcheck; a service that runs once and exits (another
//! one waits for it to complete, such as `minio-admin`) has exited with status 0; and when the
//! stack publishes the backend's API, its health endpoint answers. A service that exits otherwise
//! or turns unhealthy ends the wait at once; so does the timeout.
//!
//! The rule and the loop are pure ([`assess`], [`wait`]): what they observe comes through
//! [`Observe`] and time through [`Clock`], so that they are tested without Docker or a real
//! clock. [`ComposeObserver`] and [`SystemClock`] are the real ones.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::context::Context;
use crate::http;
use crate::preflight::model::Model;
use crate::runner::{Cmd, last_line};
use crate::signals;

/// How often Compose is asked while waiting.
pub const POLL: Duration = Duration::from_millis(500);

/// The longest one question may take (a `ps`, a health request), however long the wait.
const PROBE_LIMIT: Duration = Duration::from_secs(10);

/// The longest the backend gets to answer one health request.
const HEALTH_LIMIT: Duration = Duration::from_secs(2);

/// The longest the backend gets to accept the connection of a health request: it is local.
const HEALTH_CONNECT_LIMIT: Duration = Duration::from_secs(1);

/// One container, as `docker compose ps --all --format json` lists it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Container {
    /// Its service.
    pub service: String,
    /// `running`, `exited`, `created`, `restarting`, `paused`, `dead`, ...
    pub state: String,
    /// `healthy`, `unhealthy`, `starting`, or empty without a healthcheck.
    pub health: String,
    /// Its exit status, once exited.
    pub exit_code: i64,
}

/// Reads `ps --format json`: Compose v2 prints one JSON array, or one object a line (by
/// version); nothing at all when no container exists.
pub fn parse_ps(text: &str) -> Result<Vec<Container>, String> {
    let text = text.trim();
    let objects: Vec<Value> = if text.is_empty() {
        Vec::new()
    } else if text.starts_with('[') {
        serde_json::from_str(text).map_err(|err| format!("`ps` printed something other than JSON ({err})"))?
    } else {
        text.lines()
            .filter(|line| !line.trim().is_empty())
            .map(serde_json::from_str)
            .collect::<Result<_, _>>()
            .map_err(|err| format!("`ps` printed something other than JSON ({err})"))?
    };
    Ok(objects
        .iter()
        .map(|c| Container {
            service: c["Service"].as_str().unwrap_or("?").to_string(),
            state: c["State"].as_str().unwrap_or_default().to_ascii_lowercase(),
            health: c["Health"].as_str().unwrap_or_default().to_ascii_lowercase(),
            exit_code: c["ExitCode"].as_i64().unwrap_or(0),
        })
        .collect())
}

/// Where a service stands.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Standing {
    /// Ready, and how ("healthy", "done").
    Ready(String),
    /// Not yet, and why.
    Waiting(String),
    /// It will not be ready without help, and why.
    Failed(String),
}

impl Standing {
    /// Whether it is ready.
    pub fn is_ready(&self) -> bool {
        matches!(self, Standing::Ready(_))
    }

    /// What it says, for people.
    pub fn text(&self) -> &str {
        match self {
            Standing::Ready(text) | Standing::Waiting(text) | Standing::Failed(text) => text,
        }
    }
}

/// What the rule needs to know of the stack besides its containers.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Rules {
    /// Services that run once and exit (their exit status 0 is success).
    pub one_shots: Vec<String>,
    /// The service whose HTTP health endpoint must answer too, and its URL.
    pub health: Option<(String, String)>,
}

impl Rules {
    /// The rules for the stack of `model`.
    pub fn from_model(model: Option<&Model>) -> Self {
        let Some(model) = model else { return Rules::default() };
        Rules {
            one_shots: model.one_shots.clone(),
            health: crate::addresses::backend_health(model).map(|url| ("backend".to_string(), url)),
        }
    }
}

fn container_standing(container: &Container, one_shot: bool) -> Standing {
    match (container.state.as_str(), container.health.as_str()) {
        ("running", _) if one_shot => Standing::Waiting("running once, not done yet".into()),
        ("running", "" | "healthy") => {
            Standing::Ready(if container.health.is_empty() { "running" } else { "healthy" }.into())
        }
        ("running", "unhealthy") => Standing::Failed("unhealthy: its health check keeps failing".into()),
        ("running", _) => Standing::Waiting("starting: its health check has not passed yet".into()),
        ("exited", _) if one_shot && container.exit_code == 0 => Standing::Ready("done (ran once and exited)".into()),
        ("exited", _) => Standing::Failed(format!("exited with status {}", container.exit_code)),
        ("dead", _) => Standing::Failed("dead: Docker could not stop or remove it".into()),
        ("removing", _) => Standing::Failed("being removed".into()),
        ("created", _) => Standing::Waiting("created, not started yet".into()),
        ("restarting", _) => Standing::Waiting("restarting".into()),
        ("paused", _) => Standing::Waiting("paused (`docker unpause` resumes it)".into()),
        (other, _) => Standing::Waiting(other.to_string()),
    }
}

/// Where each service stands by its containers (the worst of them when it has several), by name.
pub fn assess(containers: &[Container], rules: &Rules) -> BTreeMap<String, Standing> {
    let mut standings: BTreeMap<String, Standing> = BTreeMap::new();
    for container in containers {
        let one_shot = rules.one_shots.contains(&container.service);
        let standing = container_standing(container, one_shot);
        match standings.get(&container.service) {
            // Ready < Waiting < Failed: keep the worse.
            Some(known) if *known >= standing => {}
            _ => {
                standings.insert(container.service.clone(), standing);
            }
        }
    }
    standings
}

/// What the wait sees of the stack.
pub trait Observe {
    /// The stack's containers, within `limit`.
    fn containers(&mut self, limit: Duration) -> Result<Vec<Container>, String>;
    /// Whether `url` answers with a success status within `limit`.
    fn answers(&mut self, url: &str, limit: Duration) -> bool;
    /// Whether the user asked us to stop (Ctrl-C, SIGTERM).
    fn interrupted(&self) -> bool;
}

/// Time, for the wait.
pub trait Clock {
    /// Time since the wait began.
    fn elapsed(&self) -> Duration;
    /// Waits `duration` (or less, when interrupted).
    fn sleep(&mut self, duration: Duration);
}

/// How a wait ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Every service is ready.
    Ready {
        /// How long it took.
        took: Duration,
    },
    /// A service will not be ready without help.
    Failed {
        /// The service.
        service: String,
        /// Why.
        why: String,
    },
    /// The timeout passed first.
    TimedOut {
        /// The services not ready yet, with where each stands.
        waiting: Vec<(String, String)>,
    },
    /// No container of the stack is left (removed from elsewhere).
    Vanished,
    /// The user asked us to stop waiting.
    Interrupted,
}

/// A service changed standing: (service, standing, time since the wait began). The name is
/// `compose ps` for a change in whether Compose can be asked at all.
pub type Change<'a> = (&'a str, &'a Standing, Duration);

/// Asks `observe` every `poll` until every service is ready, one fails, or `timeout` passes;
/// calls `on_change` once for each change of a service's standing. It ends at most one question
/// (`ps`, limited to 10 s) after the timeout.
pub fn wait(
    observe: &mut dyn Observe,
    clock: &mut dyn Clock,
    rules: &Rules,
    timeout: Duration,
    poll: Duration,
    on_change: &mut dyn FnMut(Change<'_>),
) -> Outcome {
    let mut last: BTreeMap<String, Standing> = BTreeMap::new();
    let mut unreadable: Option<Standing> = None;
    loop {
        if observe.interrupted() {
            return Outcome::Interrupted;
        }
        let remaining = timeout.saturating_sub(clock.elapsed());
        let limit = remaining.clamp(Duration::from_secs(1), PROBE_LIMIT);
        match observe.containers(limit) {
            Ok(containers) if containers.is_empty() => return Outcome::Vanished,
            Ok(containers) => {
                unreadable = None;
                let mut now = assess(&containers, rules);
                if let Some((service, url)) = &rules.health
                    && let Some(standing @ Standing::Ready(_)) = now.get_mut(service)
                {
                    let limit = remaining.clamp(Duration::from_millis(500), HEALTH_LIMIT);
                    *standing = if observe.answers(url, limit) {
                        Standing::Ready(format!("running; its health endpoint answers ({url})"))
                    } else {
                        Standing::Waiting(format!("running; its health endpoint does not answer yet ({url})"))
                    };
                }
                for (service, standing) in &now {
                    if last.get(service) != Some(standing) {
                        on_change((service, standing, clock.elapsed()));
                    }
                }
                last = now;
            }
            // Compose may fail for a moment (the daemon is busy): say so once, and keep asking
            // until the timeout.
            Err(why) => {
                let standing = Standing::Waiting(format!("cannot ask Compose: {why}"));
                if unreadable.as_ref() != Some(&standing) {
                    on_change(("compose ps", &standing, clock.elapsed()));
                }
                unreadable = Some(standing);
            }
        }
        if let Some((service, Standing::Failed(why))) = last.iter().find(|(_, s)| matches!(s, Standing::Failed(_))) {
            return Outcome::Failed { service: service.clone(), why: why.clone() };
        }
        if unreadable.is_none() && last.values().all(Standing::is_ready) {
            return Outcome::Ready { took: clock.elapsed() };
        }
        let elapsed = clock.elapsed();
        if elapsed >= timeout {
            let mut waiting: Vec<(String, String)> =
                last.iter().filter(|(_, s)| !s.is_ready()).map(|(n, s)| (n.clone(), s.text().to_string())).collect();
            if let Some(standing) = unreadable {
                waiting.push(("compose ps".into(), standing.text().to_string()));
            }
            return Outcome::TimedOut { waiting };
        }
        clock.sleep(poll.min(timeout - elapsed));
    }
}

/// The real clock; its sleep ends early when a signal arrives.
pub struct SystemClock(Instant);

impl SystemClock {
    /// A clock that starts now.
    pub fn start() -> Self {
        SystemClock(Instant::now())
    }
}

impl Clock for SystemClock {
    fn elapsed(&self) -> Duration {
        self.0.elapsed()
    }

    fn sleep(&mut self, duration: Duration) {
        let until = Instant::now() + duration;
        while signals::interrupted().is_none() {
            let left = until.saturating_duration_since(Instant::now());
            if left.is_zero() {
                break;
            }
            std::thread::sleep(left.min(Duration::from_millis(50)));
        }
    }
}

/// Asks the real Compose (`ps --all --format json` on the start's own command line) and the
/// backend over HTTP.
pub struct ComposeObserver<'a> {
    ctx: &'a Context,
    ps: Cmd,
}

impl<'a> ComposeObserver<'a> {
    /// An observer of the stack that `compose_cmd` (an `up` command) started.
    pub fn new(ctx: &'a Context, compose_cmd: &Cmd) -> Self {
        let ps = crate::compose::with_action_cmd(compose_cmd, &["ps", "--all", "--format", "json"]);
        ComposeObserver { ctx, ps }
    }
}

impl Observe for ComposeObserver<'_> {
    fn containers(&mut self, limit: Duration) -> Result<Vec<Container>, String> {
        let started = self.ctx.runner.start(&self.ps).map_err(|err| err.what().unwrap_or_default())?;
        let out = started.finish_within(limit).map_err(|err| err.what().unwrap_or_default())?;
        if !out.status.success() {
            return Err(last_line(&out.stderr));
        }
        parse_ps(&String::from_utf8_lossy(&out.stdout))
    }

    fn answers(&mut self, url: &str, limit: Duration) -> bool {
        // A redirect is not an answer: it is not followed, and its 3xx status is not a success.
        let client = http::Client::new(HEALTH_CONNECT_LIMIT.min(limit), limit);
        client.get(url).is_ok_and(|response| (200..300).contains(&response.status))
    }

    fn interrupted(&self) -> bool {
        signals::interrupted().is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn container(service: &str, state: &str, health: &str, exit_code: i64) -> Container {
        Container { service: service.into(), state: state.into(), health: health.into(), exit_code }
    }

    #[test]
    fn ps_output_as_an_array_or_one_object_a_line() {
        let lines = r#"{"Service":"backend","State":"running","Health":"","ExitCode":0}
{"Service":"ray","State":"running","Health":"starting","ExitCode":0}
"#;
        let array = r#"[{"Service":"backend","State":"running","Health":"","ExitCode":0},
                        {"Service":"ray","State":"running","Health":"starting","ExitCode":0}]"#;
        let expected = vec![container("backend", "running", "", 0), container("ray", "running", "starting", 0)];
        assert_eq!(parse_ps(lines), Ok(expected.clone()));
        assert_eq!(parse_ps(array), Ok(expected));
        assert_eq!(parse_ps(""), Ok(vec![]));
        assert_eq!(parse_ps("[]\n"), Ok(vec![]));
        assert!(parse_ps("no such service").is_err());
    }

    #[test]
    fn the_rule() {
        let rules = Rules { one_shots: vec!["minio-admin".into()], health: None };
        let standings = assess(
            &[
                container("backend", "running", "", 0),
                container("ray", "running", "healthy", 0),
                container("redis", "running", "starting", 0),
                container("minio-admin", "exited", "", 0),
                container("mlflow", "exited", "", 0),
                container("minio", "running", "unhealthy", 0),
                container("web", "running", "", 0),
                container("web", "created", "", 0),
            ],
            &rules,
        );
        let shown: Vec<(&str, &Standing)> = standings.iter().map(|(n, s)| (n.as_str(), s)).collect();
        assert_eq!(
            shown,
            [
                ("backend", &Standing::Ready("running".into())),
                ("minio", &Standing::Failed("unhealthy: its health check keeps failing".into())),
                ("minio-admin", &Standing::Ready("done (ran once and exited)".into())),
                ("mlflow", &Standing::Failed("exited with status 0".into())),
                ("ray", &Standing::Ready("healthy".into())),
                ("redis", &Standing::Waiting("starting: its health check has not passed yet".into())),
                ("web", &Standing::Waiting("created, not started yet".into())),
            ]
        );
        let failed_once = assess(&[container("minio-admin", "exited", "", 1)], &rules);
        assert_eq!(failed_once["minio-admin"], Standing::Failed("exited with status 1".into()));
    }

    /// A scripted stack: the `ps` answers in turn (the last one repeats), and the health
    /// endpoint answering from the `answers_from`-th request on.
    struct Script {
        answers: Vec<Result<Vec<Container>, String>>,
        asked: usize,
        health_requests: usize,
        answers_from: usize,
    }

    impl Observe for Script {
        fn containers(&mut self, _: Duration) -> Result<Vec<Container>, String> {
            let answer = self.answers[self.asked.min(self.answers.len() - 1)].clone();
            self.asked += 1;
            answer
        }

        fn answers(&mut self, _: &str, _: Duration) -> bool {
            self.health_requests += 1;
            self.health_requests >= self.answers_from
        }

        fn interrupted(&self) -> bool {
            false
        }
    }

    /// Time that passes only when slept.
    struct FakeClock(Duration);

    impl Clock for FakeClock {
        fn elapsed(&self) -> Duration {
            self.0
        }

        fn sleep(&mut self, duration: Duration) {
            self.0 += duration;
        }
    }

    fn script(answers: Vec<Vec<Container>>) -> Script {
        Script { answers: answers.into_iter().map(Ok).collect(), asked: 0, health_requests: 0, answers_from: 1 }
    }

    fn run(script: &mut Script, rules: &Rules, timeout: u64) -> (Outcome, Vec<String>, Duration) {
        let mut clock = FakeClock(Duration::ZERO);
        let mut changes = Vec::new();
        let outcome = wait(script, &mut clock, rules, Duration::from_secs(timeout), POLL, &mut |(name, s, at)| {
            changes.push(format!("{at:?} {name}: {}", s.text()))
        });
        (outcome, changes, clock.0)
    }

    #[test]
    fn a_service_that_turns_healthy_ends_the_wait_with_one_line_per_change() {
        let starting = vec![container("backend", "running", "", 0), container("ray", "running", "starting", 0)];
        let healthy = vec![container("backend", "running", "", 0), container("ray", "running", "healthy", 0)];
        let mut stack = script(vec![starting.clone(), starting, healthy]);
        let (outcome, changes, _) = run(&mut stack, &Rules::default(), 300);
        assert_eq!(outcome, Outcome::Ready { took: Duration::from_secs(1) });
        assert_eq!(
            changes,
            ["0ns backend: running", "0ns ray: starting: its health check has not passed yet", "1s ray: healthy",]
        );
    }

    #[test]
    fn a_service_that_never_turns_healthy_ends_the_wait_at_the_timeout() {
        let mut stack = script(vec![vec![container("ray", "running", "starting", 0)]]);
        let (outcome, changes, elapsed) = run(&mut stack, &Rules::default(), 5);
        assert_eq!(
            outcome,
            Outcome::TimedOut { waiting: vec![("ray".into(), "starting: its health check has not passed yet".into())] }
        );
        assert_eq!(elapsed, Duration::from_secs(5), "not a moment past the timeout");
        assert_eq!(changes.len(), 1, "no line while nothing changes: {changes:?}");
        assert_eq!(stack.asked, 11, "asked every half second, at 0 and at the timeout");
    }

    #[test]
    fn a_service_that_exits_or_turns_unhealthy_ends_the_wait_at_once() {
        let mut stack =
            script(vec![vec![container("ray", "running", "starting", 0)], vec![container("ray", "exited", "", 137)]]);
        let (outcome, _, elapsed) = run(&mut stack, &Rules::default(), 300);
        assert_eq!(outcome, Outcome::Failed { service: "ray".into(), why: "exited with status 137".into() });
        assert_eq!(elapsed, POLL);
        let mut stack = script(vec![vec![container("minio", "running", "unhealthy", 0)]]);
        assert!(
            matches!(run(&mut stack, &Rules::default(), 300).0, Outcome::Failed { service, .. } if service == "minio")
        );
        let mut gone = script(vec![vec![]]);
        assert_eq!(run(&mut gone, &Rules::default(), 300).0, Outcome::Vanished);
    }

    #[test]
    fn the_backend_is_ready_when_its_health_endpoint_answers() {
        let rules = Rules { one_shots: vec![], health: Some(("backend".into(), "http://127.0.0.1:8000/h/".into())) };
        let mut stack = script(vec![vec![container("backend", "running", "", 0)]]);
        stack.answers_from = 3;
        let (outcome, changes, _) = run(&mut stack, &rules, 300);
        assert_eq!(outcome, Outcome::Ready { took: Duration::from_secs(1) });
        assert_eq!(
            changes,
            [
                "0ns backend: running; its health endpoint does not answer yet (http://127.0.0.1:8000/h/)",
                "1s backend: running; its health endpoint answers (http://127.0.0.1:8000/h/)",
            ]
        );
        // Never answering is a timeout that names the backend.
        stack = script(vec![vec![container("backend", "running", "", 0)]]);
        stack.answers_from = usize::MAX;
        let (outcome, _, _) = run(&mut stack, &rules, 3);
        assert!(matches!(outcome, Outcome::TimedOut { waiting } if waiting[0].0 == "backend"));
    }

    #[test]
    fn compose_failing_for_a_moment_is_said_once_and_waited_out() {
        let mut stack = script(vec![]);
        stack.answers = vec![
            Err("daemon busy".into()),
            Err("daemon busy".into()),
            Ok(vec![container("backend", "running", "", 0)]),
        ];
        let (outcome, changes, _) = run(&mut stack, &Rules::default(), 300);
        assert_eq!(outcome, Outcome::Ready { took: Duration::from_secs(1) });
        assert_eq!(changes, ["0ns compose ps: cannot ask Compose: daemon busy", "1s backend: running"]);
    }
}
