package menus

import (
	"fmt"
	"strconv"

	"github.com/care360/care360"
)

// Screen is one node of a menu tree. Exactly one kind is set:
//
//   - a choice list: Items (fixed) or Options (computed from the domain when
//     the screen is entered, numbered 1..n; a pick is kept under the screen's
//     ID in the dialogue's values and leads to Next);
//   - an info screen: Info's lines, shown page by page; the last page ends
//     the dialogue;
//   - an input screen: Input's prompt, the typed answer validated and kept,
//     then Next;
//   - a confirmation: Confirm's prompt with "1. Dong y", which runs the action
//     and ends the dialogue with its text.
type Screen struct {
	ID      string
	Title   msg // first line of a choice list ("" for none)
	Items   []Item
	Options func(c *call) ([]Option, error)
	Info    func(c *call) ([]string, error)
	Input   *Input
	Confirm *Confirm
	Next    string // after a pick from Options or a valid Input
	// ReadsAccount marks a screen whose Info or Confirm prompt shows the
	// member's points (call.account): the answers that lead to it are
	// saved with the dialogue, so that the store can read the account
	// with the dialogue when one of them comes.
	ReadsAccount bool
}

// Item is one fixed numbered choice. Numbers are fixed: an item that is not
// built yet is absent, and the numbers of the others do not move.
type Item struct {
	Num   int
	Label msg
	To    string                        // next screen, or
	Do    func(c *call) (string, error) // an action that ends the dialogue with its text
	// Confirms marks choices that act at once with the subscriber's
	// consent: a shortcut stops before them (PRODUCT.md §3.3).
	Confirms bool
}

// Option is one entry of a computed list.
type Option struct {
	Label string // already in the subscriber's language
	Value string // kept in the dialogue's values when picked
}

// Input asks for free text.
type Input struct {
	Prompt msg
	// Parse validates and normalises the answer; an error counts as an
	// invalid answer (an EREFUSED error ends the dialogue with its reason).
	Parse func(c *call, answer string) (string, error)
}

// Confirm asks for consent before an action.
type Confirm struct {
	Prompt func(c *call) ([]string, error)
	Do     func(c *call) (string, error)
}

// errInvalid marks an answer an Input does not accept.
var errInvalid = care360.Errorf(care360.EINVALID, "invalid answer")

// item returns the fixed choice numbered in, or nil.
func (sc *Screen) item(in string) *Item {
	n, ok := number(in)
	if !ok {
		return nil
	}
	for i := range sc.Items {
		if sc.Items[i].Num == n {
			return &sc.Items[i]
		}
	}
	return nil
}

// confirms reports whether answering in on this screen would act at once.
func (sc *Screen) confirms(in string) bool {
	it := sc.item(in)
	return it != nil && it.Confirms
}

// number parses a menu choice: digits only, no sign, no leading zeros.
func number(in string) (int, bool) {
	n, err := strconv.Atoi(in)
	if err != nil || in != strconv.Itoa(n) || n <= 0 {
		return 0, false
	}
	return n, true
}

// Tree is the Care360 menu (PRODUCT.md §3.3). Items that are not built yet
// are absent; their numbers are reserved.
func Tree() map[string]*Screen {
	screens := []*Screen{
		{ID: "main", Title: "title", Items: []Item{
			{Num: 1, Label: "item.points", To: "points"},
			{Num: 2, Label: "item.gifts", To: "gifts"},
			{Num: 3, Label: "item.draws", To: "draws"},
			{Num: 4, Label: "item.mconnect", To: "mconnect"},
			{Num: 5, Label: "item.vip", To: "vip"},
			{Num: 6, Label: "item.resort", To: "resort"},
			{Num: 7, Label: "item.giftpoints", To: "giftpoints"},
			{Num: 8, Label: "item.language", To: "language"},
		}},
		{ID: "register", Title: "register.offer", Items: []Item{
			{Num: 1, Label: "register.item", Do: register, Confirms: true},
		}},
		{ID: "points", Info: pointsScreen, ReadsAccount: true},
		{ID: "language", Title: "item.language", Items: []Item{
			{Num: 1, Label: "lang.vi", Do: setLanguage(care360.LangVi)},
			{Num: 2, Label: "lang.viu", Do: setLanguage(care360.LangViUnicode)},
			{Num: 3, Label: "lang.en", Do: setLanguage(care360.LangEn)},
		}},
	}
	for _, group := range [][]*Screen{giftScreens(), drawScreens(), offerScreens(), vipScreens(), giftPointsScreens()} {
		screens = append(screens, group...)
	}
	return index(screens...)
}

// index keys screens by ID and adds the screens every tree has.
func index(screens ...*Screen) map[string]*Screen {
	m := make(map[string]*Screen, len(screens)+1)
	for _, s := range append(screens, resumeScreen) {
		m[s.ID] = s
	}
	return m
}

// resumeScreen offers a dialogue the network dropped (PRODUCT.md §3.2).
var resumeScreen = &Screen{ID: "resume", Title: "resume.title", Items: []Item{
	{Num: 1, Label: "resume.continue", Do: resume},
	{Num: 2, Label: "resume.restart", To: "main"},
}}

// CheckTree refuses a tree with dead ends, unreachable screens or ambiguous
// choices, so that a typo in a new menu fails at start-up, not in a
// subscriber's hand.
func CheckTree(m map[string]*Screen) error {
	seen := map[string]bool{}
	var walk func(id string) error
	walk = func(id string) error {
		if seen[id] {
			return nil
		}
		sc, ok := m[id]
		if !ok {
			return fmt.Errorf("menus: screen %q is referenced but not defined", id)
		}
		seen[id] = true
		kinds := 0
		for _, set := range []bool{len(sc.Items) > 0, sc.Options != nil, sc.Info != nil, sc.Input != nil, sc.Confirm != nil} {
			if set {
				kinds++
			}
		}
		if kinds != 1 {
			return fmt.Errorf("menus: screen %q must be exactly one kind (items, options, info, input or confirm); it is %d", id, kinds)
		}
		if (sc.Options != nil || sc.Input != nil) != (sc.Next != "") {
			return fmt.Errorf("menus: screen %q: Next is for options and input screens, which need it", id)
		}
		if sc.Input != nil && (sc.Input.Parse == nil || !known(sc.Input.Prompt)) {
			return fmt.Errorf("menus: input screen %q needs a prompt text and a parser", id)
		}
		if sc.Confirm != nil && (sc.Confirm.Prompt == nil || sc.Confirm.Do == nil) {
			return fmt.Errorf("menus: confirmation %q needs a prompt and an action", id)
		}
		if sc.Title != "" && !known(sc.Title) {
			return fmt.Errorf("menus: screen %q has no text %q", id, sc.Title)
		}
		nums := map[int]bool{}
		for _, it := range sc.Items {
			if nums[it.Num] {
				return fmt.Errorf("menus: screen %q has item %d twice", id, it.Num)
			}
			nums[it.Num] = true
			if it.Num <= 0 || it.Num == 99 {
				return fmt.Errorf("menus: screen %q item %d clashes with navigation", id, it.Num)
			}
			if (it.To == "") == (it.Do == nil) {
				return fmt.Errorf("menus: screen %q item %d must either go somewhere or do something", id, it.Num)
			}
			if !known(it.Label) {
				return fmt.Errorf("menus: screen %q item %d has no text %q", id, it.Num, it.Label)
			}
			if it.To != "" {
				if err := walk(it.To); err != nil {
					return err
				}
			}
		}
		if sc.Next != "" {
			return walk(sc.Next)
		}
		return nil
	}
	for _, root := range []string{"main", "register", "resume"} {
		if err := walk(root); err != nil {
			return err
		}
	}
	for id := range m {
		if !seen[id] {
			return fmt.Errorf("menus: screen %q is unreachable", id)
		}
	}
	return nil
}

func known(key msg) bool { _, ok := catalog[key]; return ok }
