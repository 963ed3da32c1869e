//! `GET /metrics` (`docs/PROTOCOL.md`, "Metrics"): the topic and channel stats in the
//! Prometheus text exposition format (version 0.0.4), labelled by `topic`, `partition`
//! and `channel`: one series per partition (`partition="0"` on a topic of one partition),
//! so a sum over `partition` is the topic's figure.

use super::http::{ChannelStats, TopicStats};
use std::fmt::Write as _;

/// The content type of the answer.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

type TopicValue = fn(&TopicStats) -> u64;
type ChannelValue = fn(&ChannelStats) -> u64;

/// Per-topic series: name, type, help, value.
pub const TOPIC_METRICS: &[(&str, &str, &str, TopicValue)] = &[
    ("ismld_topic_published_total", "counter", "Events accepted by the topic (its highest seq).", |t| t.seq),
    ("ismld_topic_retained_events", "gauge", "Events kept in the topic's storage.", |t| t.retained),
    ("ismld_topic_channels", "gauge", "Channels of the topic.", |t| t.channels.len() as u64),
];

/// Per-channel series: name, type, help, value.
pub const CHANNEL_METRICS: &[(&str, &str, &str, ChannelValue)] = &[
    ("ismld_channel_depth", "gauge", "Messages neither finished nor dead.", |c| c.depth),
    ("ismld_channel_ready", "gauge", "Messages that may be delivered now.", |c| c.ready),
    ("ismld_channel_in_flight", "gauge", "Messages delivered and not yet settled.", |c| c.in_flight),
    ("ismld_channel_deferred", "gauge", "Messages waiting for a time.", |c| c.deferred),
    ("ismld_channel_dead", "gauge", "Dead letters.", |c| c.dead),
    ("ismld_channel_consumers", "gauge", "Attached consumers.", |c| c.consumers),
    ("ismld_channel_paused", "gauge", "1 while delivery is paused.", |c| c.paused as u64),
    (
        "ismld_channel_published_total",
        "counter",
        "Events published to the topic since the channel was created.",
        |c| c.published_total,
    ),
    ("ismld_channel_delivered_total", "counter", "Deliveries, first ones and redeliveries.", |c| {
        c.delivered_total
    }),
    ("ismld_channel_finished_total", "counter", "Messages finished.", |c| c.finished_total),
    (
        "ismld_channel_requeued_total",
        "counter",
        "Messages given back (req, shelve, disconnect, timeout).",
        |c| c.requeued_total,
    ),
    ("ismld_channel_timed_out_total", "counter", "Deliveries whose deadline passed.", |c| c.timed_out_total),
    ("ismld_channel_dropped_total", "counter", "Messages dropped from a full ephemeral backlog.", |c| {
        c.dropped_total
    }),
    ("ismld_channel_filtered_total", "counter", "Events the channel's filter did not match.", |c| {
        c.filtered_total
    }),
    ("ismld_channel_expired_total", "counter", "Messages not delivered (again) because they expired.", |c| {
        c.expired_total
    }),
];

/// Escapes a label value (backslash, double quote, newline).
fn label(v: &str) -> String {
    v.replace('\\', r"\\").replace('"', "\\\"").replace('\n', r"\n")
}

/// Renders the exposition: `ismld_build_info`, `ismld_topics`, then every topic and
/// channel series, each family once with its `# HELP` and `# TYPE`. `topics` holds the
/// stats of each partition (`partition` set, or `None` for a topic of one partition).
pub fn render(version: &str, topics: &[TopicStats]) -> String {
    let names: std::collections::BTreeSet<&str> = topics.iter().map(|t| t.topic.as_str()).collect();
    let mut out = String::with_capacity(256 + topics.len() * 2048);
    let _ = writeln!(out, "# HELP ismld_build_info The running ismld version.");
    let _ = writeln!(out, "# TYPE ismld_build_info gauge");
    let _ = writeln!(out, "ismld_build_info{{version=\"{}\"}} 1", label(version));
    let _ = writeln!(out, "# HELP ismld_topics Topics in the registry.");
    let _ = writeln!(out, "# TYPE ismld_topics gauge");
    let _ = writeln!(out, "ismld_topics {}", names.len());
    for (name, kind, help, value) in TOPIC_METRICS {
        let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
        for t in topics {
            let p = t.partition.unwrap_or(0);
            let _ = writeln!(out, "{name}{{topic=\"{}\",partition=\"{p}\"}} {}", label(&t.topic), value(t));
        }
    }
    for (name, kind, help, value) in CHANNEL_METRICS {
        let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
        for t in topics {
            for c in &t.channels {
                let _ = writeln!(
                    out,
                    "{name}{{topic=\"{}\",partition=\"{}\",channel=\"{}\"}} {}",
                    label(&t.topic),
                    t.partition.unwrap_or(0),
                    label(&c.channel),
                    value(c)
                );
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_families_once_with_labels() {
        let topics = vec![TopicStats {
            partition: None,
            partitions: 1,
            topic: "orders".into(),
            seq: 7,
            retained: 5,
            channels: vec![ChannelStats {
                channel: "c#ephemeral".into(),
                depth: 2,
                paused: true,
                ..Default::default()
            }],
        }];
        let text = render("0.1.0", &topics);
        assert!(text.contains("ismld_topic_published_total{topic=\"orders\",partition=\"0\"} 7\n"));
        assert!(text
            .contains("ismld_channel_depth{topic=\"orders\",partition=\"0\",channel=\"c#ephemeral\"} 2\n"));
        assert!(text
            .contains("ismld_channel_paused{topic=\"orders\",partition=\"0\",channel=\"c#ephemeral\"} 1\n"));
        assert_eq!(text.matches("# TYPE ismld_channel_depth gauge").count(), 1);
        assert_eq!(label("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
    }
}
