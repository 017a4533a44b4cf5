package menus

import (
	"flag"
	"os"
	"strings"
	"testing"
)

var updateDocs = flag.Bool("update", false, "rewrite docs/menus.md from the menu tree")

// TestMenuDiagramIsCurrent keeps docs/menus.md drawn from the tree the
// gateway actually serves.
func TestMenuDiagramIsCurrent(t *testing.T) {
	t.Parallel()
	const path = "../docs/menus.md"
	want := "# The USSD menu tree\n\nGenerated from `menus.Tree()` by `go test ./menus -run Diagram -update`; a test fails when it drifts.\n\n```mermaid\n" + Mermaid(Tree()) + "```\n"
	if *updateDocs {
		if err := os.WriteFile(path, []byte(want), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != want {
		t.Fatalf("%s is out of date: run go test ./menus -run Diagram -update", path)
	}
	if !strings.Contains(want, "main -- \"1. Diem & hang hoi vien\" --> points") {
		t.Errorf("diagram lacks the points edge:\n%s", want)
	}
}
