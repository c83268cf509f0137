//! Skill specifications shared by the skills registry and every surface that offers skills.
