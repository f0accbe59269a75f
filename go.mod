module github.com/sithseid/sithseid

go 1.26.8

require (
	github.com/ebfe/scard v0.0.0-20241214075232-7af069cabc25
	github.com/go-piv/piv-go/v2 v2.6.0
	github.com/miekg/pkcs11 v1.1.2
	github.com/skip2/go-qrcode v0.0.0-20200617195104-da1b6568686e
	github.com/zalando/go-keyring v0.2.8
	golang.org/x/crypto v0.58.0
	golang.org/x/sys v0.49.0
	golang.org/x/term v0.47.0
)

require (
	github.com/danieljoos/wincred v1.2.3 // indirect
	github.com/godbus/dbus/v5 v5.2.2 // indirect
)
