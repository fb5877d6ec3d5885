// Command hello is the floor of the benchmark: the cost of starting a Go
// process that prints one line, built with the same flags as the helper.
package main

import "fmt"

func main() { fmt.Println("hello, world") }
