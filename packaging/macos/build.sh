#!/usr/bin/env bash
# packaging/macos/build.sh — the macOS app and installer, on a Mac (a
# GitHub macos-14 runner in .github/workflows/release.yml). It cannot run on
# the Linux development machine: Fyne's macOS build needs Apple's SDK
# (cgo, Cocoa, OpenGL), and pkgbuild/productbuild exist only on macOS. It
# has not been run there from this repository yet; the CI job is its test.
#
#   1. go build of sithseid and sithseid-ui (./cmd/sithseid-ui, the
#      windows) for arm64 and amd64 (cgo), lipo: two universal binaries;
#   2. fyne package (fyne.io/tools, pinned): "SITHS eID.app" with the name,
#      ID, version and icon from FyneApp.toml, sithseid its executable;
#      sithseid-ui goes beside it in Contents/MacOS, where "sithseid ui
#      VIEW" and the agent look for it;
#   3. url-types.plist merged into Contents/Info.plist (CFBundleURLTypes for
#      sithseid:, which fyne package does not write), checked with plutil;
#   4. codesign with the hardened runtime when SITHSEID_MAC_APP_IDENTITY is
#      set ("Developer ID Application: ..."), else ad hoc: sithseid-ui
#      first (nested code is signed inside out), then the app;
#   5. pkgbuild: the app in /Applications and the LaunchAgent in
#      /Library/LaunchAgents (every user's session), postinstall registers
#      the URL scheme and starts the agent for the console user;
#   6. productbuild: dist/SITHS-eID-VERSION.pkg, signed with productsign
#      when SITHSEID_MAC_INSTALLER_IDENTITY is set ("Developer ID
#      Installer: ..."). Notarisation (xcrun notarytool) is left to the
#      release job, which has the Apple credentials.
set -euo pipefail
[[ $(uname -s) == Darwin ]] || { echo "build.sh: macOS only (see packaging/README.md)" >&2; exit 1; }

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
cd "$root"
fyne_tools=fyne.io/tools/cmd/fyne@v1.7.4
version=$(scripts/packages version)
base_version=$(sed -n 's/^[[:space:]]*Version[[:space:]]*=[[:space:]]*"\([0-9.]*\)".*/\1/p' FyneApp.toml | head -1)
export SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-$(git log -1 --format=%ct)}
out=$root/dist/macos
rm -rf "$out"
mkdir -p "$out/bin" "$out/root/Applications" "$out/root/Library/LaunchAgents"

for arch in arm64 amd64; do
	mkdir -p "$out/bin/$arch"
	# Both executables, the same flags (-o DIR/: named by their packages).
	CGO_ENABLED=1 GOOS=darwin GOARCH=$arch MACOSX_DEPLOYMENT_TARGET=11.0 go build -trimpath \
		-ldflags "-s -w -X main.version=$version" -o "$out/bin/$arch/" . ./cmd/sithseid-ui
done
for exe in sithseid sithseid-ui; do
	lipo -create -output "$out/bin/$exe" "$out/bin/arm64/$exe" "$out/bin/amd64/$exe"
done

GOFLAGS= GOBIN="$root/bin/tools" go install "$fyne_tools"
(cd "$out" && "$root/bin/tools/fyne" package -os darwin -release \
	-executable "$out/bin/sithseid" -src "$root" -icon "$root/assets/icons/sithseid.png" \
	-name "SITHS eID" -app-id io.github.sithseid.desktop -app-version "$base_version")
app="$out/SITHS eID.app"
[[ -x "$app/Contents/MacOS/sithseid" ]] || { echo "build.sh: fyne package did not make $app/Contents/MacOS/sithseid" >&2; exit 1; }
install -m 0755 "$out/bin/sithseid-ui" "$app/Contents/MacOS/sithseid-ui"

plist="$app/Contents/Info.plist"
/usr/libexec/PlistBuddy -c "Delete :CFBundleURLTypes" "$plist" 2>/dev/null || true
/usr/libexec/PlistBuddy -c "Merge $here/url-types.plist" "$plist"
/usr/libexec/PlistBuddy -c "Set :CFBundleShortVersionString $base_version" "$plist"
plutil -lint "$plist"
[[ $(/usr/libexec/PlistBuddy -c "Print :CFBundleURLTypes:0:CFBundleURLSchemes:0" "$plist") == sithseid ]]
[[ $(/usr/libexec/PlistBuddy -c "Print :CFBundleIdentifier" "$plist") == io.github.sithseid.desktop ]]

if [[ -n ${SITHSEID_MAC_APP_IDENTITY:-} ]]; then
	codesign --force --options runtime --timestamp --sign "$SITHSEID_MAC_APP_IDENTITY" "$app/Contents/MacOS/sithseid-ui"
	codesign --force --options runtime --timestamp --sign "$SITHSEID_MAC_APP_IDENTITY" "$app"
else
	codesign --force --sign - "$app/Contents/MacOS/sithseid-ui"
	codesign --force --sign - "$app"
fi
codesign --verify --strict --verbose=2 "$app"
codesign --verify --strict --verbose=2 "$app/Contents/MacOS/sithseid-ui"

ditto "$app" "$out/root/Applications/SITHS eID.app"
cp "$here/io.github.sithseid.desktop.agent.plist" "$out/root/Library/LaunchAgents/"
plutil -lint "$out/root/Library/LaunchAgents/io.github.sithseid.desktop.agent.plist"

pkgbuild --root "$out/root" --component-plist "$here/component.plist" \
	--scripts "$here/scripts" --identifier io.github.sithseid.desktop.pkg \
	--version "$base_version" --install-location / "$out/sithseid-component.pkg"
sed "s/@VERSION@/$base_version/" "$here/distribution.xml" >"$out/distribution.xml"
pkg="$root/dist/SITHS-eID-${version//\~/-}.pkg"
productbuild --distribution "$out/distribution.xml" --package-path "$out" "$out/unsigned.pkg"
if [[ -n ${SITHSEID_MAC_INSTALLER_IDENTITY:-} ]]; then
	productsign --sign "$SITHSEID_MAC_INSTALLER_IDENTITY" "$out/unsigned.pkg" "$pkg"
	pkgutil --check-signature "$pkg"
else
	cp "$out/unsigned.pkg" "$pkg"
fi
pkgutil --payload-files "$pkg" | grep -q 'Applications/SITHS eID.app/Contents/MacOS/sithseid$'
pkgutil --payload-files "$pkg" | grep -q 'Applications/SITHS eID.app/Contents/MacOS/sithseid-ui$'
echo "$pkg"
