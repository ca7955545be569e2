//! acs-store
