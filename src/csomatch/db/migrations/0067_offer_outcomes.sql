-- A fair acceptance record (issue 13, item 5): how each offer ended, counted per service and
-- quarter (the quarter the offer ended in), so that a provider can read its own record over
-- closed quarters. Counters only: no referral, hold or person is named, so the counts
-- survive the retention purge like the other aggregate facts.
-- `outcome` is `accepted`, `expired_unanswered` or the decline reason; which of them count
-- for the acceptance rate is decided in one place, csomatch.domain.acceptance.counted.
CREATE TABLE offer_outcome_count (
    service_id uuid NOT NULL REFERENCES service (id) ON DELETE CASCADE,
    organization_id uuid NOT NULL REFERENCES organization (id) ON DELETE CASCADE,
    quarter date NOT NULL,
    outcome text NOT NULL CHECK (outcome IN (
        'accepted', 'expired_unanswered',
        'no_capacity', 'not_eligible', 'safety', 'person_declined', 'other'
    )),
    n integer NOT NULL CHECK (n > 0),
    PRIMARY KEY (service_id, quarter, outcome),
    CONSTRAINT offer_outcome_quarter_start CHECK (
        quarter = date_trunc('quarter', quarter::timestamp)::date
    )
);
CREATE INDEX offer_outcome_count_org_idx ON offer_outcome_count (organization_id, quarter);

-- The offers already ended, from the holds still stored. An offer answered (accepted) and then
-- confirmed, released or expired stays `accepted`; a released offer never answered is not an
-- end the provider had a part in.
INSERT INTO offer_outcome_count (service_id, organization_id, quarter, outcome, n)
SELECT service_id, organization_id, quarter, outcome, count(*)::integer
FROM (
    SELECT h.service_id, h.organization_id,
        date_trunc('quarter', coalesce(h.answered_at, h.escalated_at, h.expires_at))::date
            AS quarter,
        CASE
            WHEN h.status = 'declined' THEN h.decline_reason
            WHEN h.answered_at IS NOT NULL
                AND h.status IN ('accepted', 'confirmed', 'released', 'expired') THEN 'accepted'
            WHEN h.status = 'expired' THEN 'expired_unanswered'
        END AS outcome
    FROM referral_hold h
) AS ended
WHERE outcome IS NOT NULL
GROUP BY service_id, organization_id, quarter, outcome;

-- The matcher's counters follow the new rule for the offers still stored: excused declines
-- (person_declined, safety, not_eligible) no longer count as offers, and offers left to
-- expire unanswered now do. (Offers whose referral was already purged stay as counted.)
UPDATE service_track_record t
SET offers = greatest(t.accepted, t.offers - f.excused + f.unanswered)
FROM (
    SELECT service_id,
        count(*) FILTER (
            WHERE outcome IN ('person_declined', 'safety', 'not_eligible')
        )::integer AS excused,
        count(*) FILTER (WHERE outcome = 'expired_unanswered')::integer AS unanswered
    FROM (
        SELECT service_id, CASE
            WHEN status = 'declined' THEN decline_reason
            WHEN status = 'expired' AND answered_at IS NULL THEN 'expired_unanswered'
        END AS outcome
        FROM referral_hold
    ) AS h
    GROUP BY service_id
) AS f
WHERE f.service_id = t.service_id;

INSERT INTO service_track_record (service_id, offers, accepted)
SELECT service_id, count(*)::integer, 0
FROM referral_hold
WHERE status = 'expired' AND answered_at IS NULL
GROUP BY service_id
ON CONFLICT (service_id) DO NOTHING;
