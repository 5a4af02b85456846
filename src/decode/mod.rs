//! Raw tensor bytes to numbers, for every dtype glassbox reads.
