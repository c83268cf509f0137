//! The testkit (scripted model server, peers, daemon spawner) and the end-to-end suite.
