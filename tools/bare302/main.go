// Command bare302 is the physical limit for the click path on a machine: a
// plain net/http server that answers every request with the same 302 and
// does nothing else. The load tool drives it and trackd side by side.
//
//	go run ./tools/bare302 -addr 127.0.0.1:8090
package main

import (
	"flag"
	"log"
	"net/http"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:8090", "listen address")
	flag.Parse()
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Location", "https://offer.example/?c=00000000000000000000000000000000")
		w.WriteHeader(http.StatusFound)
	})
	log.Fatal(http.ListenAndServe(*addr, h))
}
