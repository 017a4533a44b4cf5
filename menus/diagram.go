package menus

import (
	"fmt"
	"slices"
	"strings"

	"github.com/care360/care360"
)

// Mermaid draws a menu tree as a mermaid flowchart: one node per screen
// (labelled with its first line in plain Vietnamese), one edge per choice.
// docs/menus.md is generated from it, and a test keeps it current.
func Mermaid(tree map[string]*Screen) string {
	ids := make([]string, 0, len(tree))
	for id := range tree {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	var b strings.Builder
	b.WriteString("flowchart TD\n")
	b.WriteString("  dial((dial *090#)) --> main\n  dial -- unknown caller --> register\n  dial -- dropped < 2 min ago --> resume\n")
	for _, id := range ids {
		sc := tree[id]
		fmt.Fprintf(&b, "  %s[\"%s\"]\n", id, nodeLabel(sc))
		for _, it := range sc.Items {
			label := fmt.Sprintf("%d. %s", it.Num, text(care360.LangVi, it.Label))
			if it.Do != nil {
				fmt.Fprintf(&b, "  %s -- \"%s\" --> do_%s_%d([action])\n", id, label, id, it.Num)
			} else {
				fmt.Fprintf(&b, "  %s -- \"%s\" --> %s\n", id, label, it.To)
			}
		}
		switch {
		case sc.Next != "":
			fmt.Fprintf(&b, "  %s -- pick / valid answer --> %s\n", id, sc.Next)
		case sc.Info != nil:
			fmt.Fprintf(&b, "  %s -- last page --> end_%s((end))\n", id, id)
		case sc.Confirm != nil:
			fmt.Fprintf(&b, "  %s -- \"1. Dong y\" --> end_%s((end))\n", id, id)
		}
	}
	return b.String()
}

func nodeLabel(sc *Screen) string {
	var kind string
	switch {
	case sc.Info != nil:
		kind = "info"
	case sc.Input != nil:
		kind = "input: " + text(care360.LangVi, sc.Input.Prompt)
	case sc.Confirm != nil:
		kind = "confirm"
	case sc.Options != nil:
		kind = "list"
	case sc.Title != "":
		kind = text(care360.LangVi, sc.Title)
	}
	if kind == "" {
		return sc.ID
	}
	return sc.ID + ": " + strings.ReplaceAll(kind, `"`, "'")
}
