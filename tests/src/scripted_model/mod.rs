//! The scripted OpenAI-compatible model server (see its module for the fixture format).
