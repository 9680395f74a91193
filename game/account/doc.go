// Package account is the game layer's identity: who a connection's player
// is. Accounts issues and checks the tokens players log in with;
// MemoryAccounts keeps them in memory (the default), and TokenAccounts
// signs session tokens (package account/auth) for players numbered by a
// snowflake generator (package account/ids), keeping a session per token
// in a store.SessionStore, so tokens survive restarts and can be revoked.
// SetupAccounts builds the latter from configuration, and BadTokenCode
// maps a refused token to the protocol's error code.
package account
