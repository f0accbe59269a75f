// Package assets embeds the icons and translations (sv, en) of SITHS eID.
package assets
