//! Parameter statistics: mergeable accumulators, the parallel engine and health findings.
