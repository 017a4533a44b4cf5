package main

// The USSD latency figure while a campaign sends (PERFORMANCE.md: p99 <
// 20 ms at 1,000 steps/s while a 100,000-message campaign sends; PRODUCT.md
// §8: screens never wait behind bulk SMS).

import (
	"context"
	"flag"
	"fmt"
	"time"

	"github.com/care360/care360"
	"github.com/care360/care360/gateway/smsc"
	"github.com/care360/care360/store"
)

var (
	latencyOnly = flag.Bool("latency-only", false, "run only the paced latency figures, without and with a campaign sending")
	ussdOnly    = flag.Bool("ussd-only", false, "run only the USSD step figures: the pgbench limit, steps/s at saturation and the paced latency, without and with a campaign sending")
	levelsOnly  = flag.Bool("levels-only", false, "run only the concurrent dialogues table (with -levels)")
)

// campaignLatency creates a marketing campaign to every seeded member (as
// POST /api/v1/campaigns does) and, while a gateway sends it over the same
// bind, offers rate steps/s of dialogues; it prints their latency and how
// many of the campaign's messages went out meanwhile, so that a figure
// taken while nothing was sending is not mistaken for one. The phase's
// gateway and its campaign keep a marketing window of the whole day
// (sms.marketing_window "00:00-24:00"): the figure is about screens
// against bulk SMS, whatever the hour the bench runs at.
func campaignLatency(ctx context.Context, sim *smsc.Server, bin, dbURL string, phones, members, rate int, dur time.Duration) error {
	loc, err := time.LoadLocation("Asia/Ho_Chi_Minh") // serve's default zone: the marketing window is in it
	if err != nil {
		return err
	}
	gw, err := startBound(sim, bin, dbURL, `{"sms": {"marketing_window": "00:00-24:00"}}`)
	if err != nil {
		return err
	}
	defer gw.stop()
	warmUp(sim, phones, members)

	db, err := store.Open(ctx, dbURL, store.Options{Location: loc})
	if err != nil {
		return err
	}
	defer db.Close()
	sms := store.NewSMS(db, care360.SMSRules{WindowOpen: 0, WindowClose: 24 * time.Hour})
	start := time.Now()
	c, _, err := sms.CreateCampaign(ctx, care360.NewCampaign{Name: "bench latency", Text: "Uu dai thang nay danh cho quy khach."})
	if err != nil {
		return err
	}
	fmt.Printf("== Latency at an offered %d steps/s while a campaign of %d messages sends (queued in %s)\n",
		rate, c.Recipients, time.Since(start).Round(time.Millisecond))
	before := sim.Submits()
	r := load(sim, max(phones, rate/10), members, dur, rate)
	during := sim.Submits() - before
	fmt.Printf("paced: %s; %d of the campaign's SMS submitted during the run\n", r, during)
	// Stop it, so that later figures measure what they say.
	x, err := sms.CancelCampaign(ctx, c.ID)
	if err != nil {
		return err
	}
	if x.Progress.Sent == 0 {
		fmt.Println("(the campaign did not send during the run: outside the marketing window? this figure is without one)")
	}
	left := x.Progress.Failed
	fmt.Printf("%d of the campaign's messages were not yet sent at the end; cancelled\n\n", left)
	return nil
}
