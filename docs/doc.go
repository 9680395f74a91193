// Package docs holds zinxgame's manual, as Markdown files beside this one.
// It has no code; its test keeps configuration.md in step with the config
// types (every key documented, with the code's default).
package docs
