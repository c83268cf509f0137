//! Sandboxes that run the agent's commands: docker (bollard), bubblewrap and none.
