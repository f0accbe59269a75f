//go:build ignore

// gen_icons writes ui/tray/icons/*.png and *.ico from the product icon:
//
//	go generate ./ui/tray
package main

import (
	"image"
	_ "image/png"
	"log"
	"os"
	"path/filepath"

	"github.com/sithseid/sithseid/ui/tray/internal/trayicon"
)

func main() {
	f, err := os.Open("../../assets/icons/sithseid.png")
	if err != nil {
		log.Fatal(err)
	}
	base, _, err := image.Decode(f)
	f.Close()
	if err != nil {
		log.Fatal(err)
	}
	for _, v := range trayicon.Variants {
		b, err := trayicon.PNG(trayicon.Draw(base, v, trayicon.Size))
		if err != nil {
			log.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join("icons", v.Name+".png"), b, 0o644); err != nil {
			log.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join("icons", v.Name+".ico"), trayicon.ICO(base, v, trayicon.ICOSizes), 0o644); err != nil {
			log.Fatal(err)
		}
	}
}
