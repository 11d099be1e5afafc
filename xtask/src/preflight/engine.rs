//! Whether the engine (what `docker info` reports) can run the stack's resource limits.

use crate::checks::docker::Engine;
use crate::preflight::model::Model;
use crate::verdict::Verdict;

/// `bytes` in GiB, as short as it can be said: `10 GiB`, `7.7 GiB`.
pub fn gib(bytes: u64) -> String {
    let gib = bytes as f64 / f64::from(1u32 << 30);
    let text = format!("{gib:.1}");
    format!("{} GiB", text.strip_suffix(".0").unwrap_or(&text))
}

/// A CPU count as people say it: `2 CPUs`, `1 CPU`, `0.5 CPUs`.
pub fn cpus_text(cpus: f64) -> String {
    let text = format!("{cpus:.2}");
    let text = text.trim_end_matches('0').trim_end_matches('.');
    format!("{text} CPU{}", if cpus == 1.0 { "" } else { "s" })
}

/// The engine against the model's limits. Too little memory is a warning (Docker caps a container
/// at its limit but starts it anyway; Ray jobs then die of out-of-memory). Fewer CPUs than a limit
/// is a problem: the daemon refuses to create that container ("Range of CPUs is from 0.01 to N").
pub fn engine_verdicts(engine: &Engine, model: Option<&Model>) -> Vec<Verdict> {
    let mut verdicts = Vec::new();
    let Some(model) = model else { return verdicts };
    if let Some(limit) = &model.memory_limit
        && engine.memory < limit.value
    {
        verdicts.push(Verdict::warning(
            format!(
                "the engine has {} of memory; {} may use up to {}",
                gib(engine.memory),
                limit.service,
                gib(limit.value)
            ),
            format!(
                "give the engine {} or more (Docker Desktop: Settings > Resources > Memory), or expect {} jobs \
                 to be killed when they run out",
                gib(limit.value),
                limit.service
            ),
        ));
    }
    if let Some(limit) = &model.cpu_limit
        && (engine.cpus as f64) < limit.value
    {
        verdicts.push(Verdict::problem(
            format!(
                "the engine has {}; {} is limited to {}, which Docker refuses to grant",
                cpus_text(engine.cpus as f64),
                limit.service,
                cpus_text(limit.value)
            ),
            format!("give the engine {} or more (Docker Desktop: Settings > Resources > CPUs)", cpus_text(limit.value)),
        ));
    }
    verdicts
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::preflight::model::Limit;
    use crate::verdict::Status;

    #[test]
    fn sizes_and_counts_read_short() {
        assert_eq!(gib(10 << 30), "10 GiB");
        assert_eq!(gib(8_268_000_000), "7.7 GiB");
        assert_eq!(cpus_text(2.0), "2 CPUs");
        assert_eq!(cpus_text(1.0), "1 CPU");
        assert_eq!(cpus_text(0.5), "0.5 CPUs");
    }

    #[test]
    fn engine_limits() {
        let model = Model {
            memory_limit: Some(Limit { service: "ray".into(), value: 10 << 30 }),
            cpu_limit: Some(Limit { service: "ray".into(), value: 2.0 }),
            ..Model::default()
        };
        let big = Engine { version: "28".into(), memory: 16 << 30, cpus: 8 };
        assert!(engine_verdicts(&big, Some(&model)).is_empty());
        let small = Engine { version: "28".into(), memory: 4 << 30, cpus: 1 };
        let statuses: Vec<Status> = engine_verdicts(&small, Some(&model)).iter().map(|v| v.status).collect();
        assert_eq!(statuses, [Status::Warning, Status::Problem]);
        assert!(engine_verdicts(&small, None).is_empty());
    }
}
