package enrich

import (
	"bufio"
	"fmt"
	"os"
	"sort"
	"strings"
	"testing"
)

func TestTmpDevicesTxt(t *testing.T) {
	e := mustNew(t, Config{UACacheSize: 200000})
	for _, file := range []string{"devices.txt", "crawlers.txt"} {
		f, err := os.Open("/root/go/pkg/mod/github.com/x-way/crawlerdetect@v0.2.31/testdata/" + file)
		if err != nil {
			t.Fatal(err)
		}
		s := bufio.NewScanner(f)
		s.Buffer(nil, 1<<20)
		reasons := map[string]int{}
		types := map[string]int{}
		n := 0
		for s.Scan() {
			n++
			if file == "devices.txt" && n%20 != 0 {
				continue
			}
			ua := strings.Trim(s.Text(), "\"'")
			d := e.Device(ua)
			v := e.Bot(mustAddr("8.8.8.8"), ua, nil)
			types[d.Type]++
			r := v.Reason
			if i := strings.Index(r, ": "); i > 0 && file == "crawlers.txt" {
				r = r[:i]
			}
			reasons[r]++
			if file == "devices.txt" && v.Bot {
				fmt.Printf("FP %q -> %s\n", ua, v.Reason)
			}
		}
		f.Close()
		fmt.Println(file, n, "types", types)
		keys := []string{}
		for k := range reasons {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			fmt.Printf("   %q %d\n", k, reasons[k])
		}
	}
}
