"""Stage 3, check: Great Expectations suites and the generic plausibility guard every source declares rules for."""
