//! Property tests: arbitrary and structured inputs for every parser.

use std::time::Duration;

use proptest::prelude::*;

proptest! {
    /// No parser panics on any text, and every error says what is wrong.
    #[test]
    fn no_parser_panics_on_any_text(s in "\\PC{0,64}") {
        for (_, run) in steady_fuzz::TARGETS {
            run(s.as_bytes());
        }
    }

    /// ... nor on arbitrary bytes.
    #[test]
    fn no_parser_panics_on_any_bytes(data in proptest::collection::vec(any::<u8>(), 0..256)) {
        for (_, run) in steady_fuzz::TARGETS {
            run(&data);
        }
    }

    #[test]
    fn durations_with_units_parse_exactly(n in 0u64..80_000, unit in prop_oneof![
        Just(("ms", 1u64)), Just(("s", 1000)), Just(("m", 60_000)), Just(("h", 3_600_000)),
    ]) {
        let text = format!("{n}{}", unit.0);
        prop_assert_eq!(
            steady::duration::parse_duration(&text),
            Ok(Duration::from_millis(n * unit.1))
        );
    }

    #[test]
    fn negative_or_garbage_durations_are_refused_with_the_input_quoted(
        n in 1u32..1000, junk in "[a-z]{3,6}"
    ) {
        let negative = format!("-{n}s");
        prop_assert!(steady::duration::parse_duration(&negative).is_err());
        let bad = format!("{n}{junk}");
        if !["sec", "secs", "min", "mins", "hrs", "day", "days"].contains(&junk.as_str()) {
            let e = steady::duration::parse_duration(&bad).unwrap_err();
            prop_assert!(e.contains(&junk), "{}", e);
        }
    }

    #[test]
    fn rates_parse_and_print_back(n in 1u32..1_000_000, per in prop_oneof![Just("s"), Just("m"), Just("h")]) {
        let text = format!("{n}/{per}");
        let rate: steady::Rate = text.parse().unwrap();
        prop_assert_eq!(rate.to_string(), text);
    }

    #[test]
    fn delta_seconds_retry_after_is_exact_and_never_panics(n in any::<u64>()) {
        let now = std::time::SystemTime::now();
        prop_assert_eq!(
            steady::retry::parse_retry_after(&n.to_string(), now),
            steady::retry::RetryAfter::Wait(Duration::from_secs(n))
        );
    }

    #[test]
    fn a_valid_batch_line_is_an_item(
        id in "[a-z0-9-]{1,12}",
        path in "[a-z0-9/]{0,20}",
        method in prop_oneof![Just("GET"), Just("POST"), Just("PUT"), Just("DELETE")],
    ) {
        let line = serde_json::json!({"id": id, "method": method, "url": format!("http://127.0.0.1:9/{path}")}).to_string();
        let item = steady_batch::input::parse_line(&line, 1).unwrap().unwrap();
        prop_assert_eq!(item.id, id);
        prop_assert_eq!(item.method, method);
    }

    #[test]
    fn a_batch_line_without_url_names_the_problem(id in "[a-z]{1,8}") {
        let line = serde_json::json!({"id": id}).to_string();
        let e = steady_batch::input::parse_line(&line, 1).unwrap_err();
        prop_assert!(e.contains("url"), "{}", e);
    }

    #[test]
    fn count_expectations_agree_with_the_array(len in 0usize..20, n in 0usize..20) {
        let doc = serde_json::json!({"items": vec![1; len]});
        let e = steady::semantic::Expectation::parse(&format!("$.items count >= {n}")).unwrap();
        prop_assert_eq!(e.check(&doc).is_ok(), len >= n);
    }
}
