package store

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/care360/care360"
)

// Operations reads the operations dashboard's figures in one pipelined
// round trip (care360.OperationsService). The SMS queue and the open
// dialogues are counted whole: both tables hold only work in progress
// (sent messages leave the queue, ended dialogues are deleted or swept), so
// each count is a short scan even under a large campaign.
func (db *DB) Operations(ctx context.Context, since, openSince time.Time) (o *care360.Operations, err error) {
	defer wrap(&err, "read the operations figures")
	now := db.now()
	o = &care360.Operations{Slots: []care360.TrafficSlot{}, Jobs: []care360.JobRun{}}
	b := &pgx.Batch{}
	b.Queue(`SELECT count(*) FROM ussd_dialogues WHERE updated_at > $1`, openSince).QueryRow(func(r pgx.Row) error {
		return r.Scan(&o.OpenDialogues)
	})
	b.Queue(`
		SELECT count(*) FILTER (WHERE held),
		       count(*) FILTER (WHERE NOT held AND (owner IS NULL OR lease_until <= $1)),
		       count(*) FILTER (WHERE NOT held AND owner IS NOT NULL AND lease_until > $1)
		FROM sms_queue`, now).QueryRow(func(r pgx.Row) error {
		return r.Scan(&o.Queue.Held, &o.Queue.Queued, &o.Queue.Sending)
	})
	b.Queue(`
		SELECT at, ussd_dials, ussd_steps, ussd_failures, sms_submitted, sms_delivered, sms_failed
		FROM traffic_slots WHERE at >= $1 ORDER BY at`, since).Query(func(rows pgx.Rows) error {
		for rows.Next() {
			var s care360.TrafficSlot
			if err := rows.Scan(&s.At, &s.USSDDials, &s.USSDSteps, &s.USSDFailures, &s.SMSSubmitted, &s.SMSDelivered, &s.SMSFailed); err != nil {
				return err
			}
			o.Slots = append(o.Slots, s)
		}
		return rows.Err()
	})
	b.Queue(`
		SELECT DISTINCT ON (job) job, instance, started_at, finished_at, ok, error
		FROM job_runs ORDER BY job, finished_at DESC`).Query(func(rows pgx.Rows) error {
		for rows.Next() {
			var j care360.JobRun
			if err := rows.Scan(&j.Job, &j.Instance, &j.StartedAt, &j.FinishedAt, &j.OK, &j.Error); err != nil {
				return err
			}
			o.Jobs = append(o.Jobs, j)
		}
		return rows.Err()
	})
	if err := db.pool.SendBatch(ctx, b).Close(); err != nil {
		return nil, interpretError(err)
	}
	return o, nil
}

// jobRunsKept is how long the last run of an instance no longer running is
// kept: a week covers a weekend's outage, and a gone instance's rows then
// stop cluttering the list.
const jobRunsKept = 7 * 24 * time.Hour

// RecordJobRun keeps run as its job's latest run on its instance
// (care360.JobRecorder), and sweeps rows of instances gone for a week.
func (db *DB) RecordJobRun(ctx context.Context, run care360.JobRun) (err error) {
	defer wrap(&err, "record the run of job %s", run.Job)
	_, err = db.pool.Exec(ctx, `
		WITH gone AS (
			DELETE FROM job_runs WHERE finished_at < $7 AND NOT (job = $1 AND instance = $2)
		)
		INSERT INTO job_runs (job, instance, started_at, finished_at, ok, error) VALUES ($1, $2, $3, $4, $5, $6)
		ON CONFLICT (job, instance) DO UPDATE SET started_at = excluded.started_at, finished_at = excluded.finished_at,
			ok = excluded.ok, error = excluded.error`,
		run.Job, run.Instance, run.StartedAt, run.FinishedAt, run.OK, clipText(plainText(run.Error), 1000),
		db.now().Add(-jobRunsKept))
	return interpretError(err)
}
