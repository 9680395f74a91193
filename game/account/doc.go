// Package account is the game layer's identity: who a connection's player
// is. Accounts issues and checks the tokens players log in with;
// MemoryAccounts keeps them in memory (the default), and TokenAccounts
// signs session tokens (package account/auth) for players numbered by a
// snowflake generator (package account/ids), keeping a session per token
// in a store.SessionStore, so tokens survive restarts and can be revoked.
// SetupAccounts builds the latter from configuration, and BadTokenCode
// maps a refused token to the protocol's error code.
//
// Service is the identity module every game module logs players in
// through (docs/accounts.md): it mounts Login and Logout on each product's
// IDs, binds one identity to one connection, kicks an older connection of
// an identity that logs in again, bounds names, new identities per IP and
// the time to log in, and tells the modules (OnLogin, OnLogout); routers
// ask it who a connection's player is (PlayerOf).
package account
