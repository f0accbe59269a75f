// Command demodefault prints whether this build allows DEMO where policy
// says nothing (config.DemoDefault), for TestReleaseLinkTurnsDemoOff.
package main

import (
	"fmt"

	"github.com/sithseid/sithseid/config"
)

func main() { fmt.Println(config.DemoDefault()) }
