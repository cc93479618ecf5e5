-- csomatch 0075 (issue 14, item 3): a transnational referral stays open until its last
-- follow-up is done or cancelled. See docs/transnational.md.
--
-- While a follow-up step of its timeline (3, 6, 12 months) is planned, the referral does not
-- close (it may still be cancelled by the referring side, which cancels the planned steps),
-- and the retention purge leaves it alone (the purge's query checks the same).

CREATE FUNCTION referral_trm_keeps_open() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.state = 'closed' AND OLD.state IS DISTINCT FROM 'closed' AND EXISTS (
        SELECT 1 FROM referral_transnational_step s
        WHERE s.referral_id = NEW.id AND s.status = 'planned'
          AND s.code IN ('follow_up_3m', 'follow_up_6m', 'follow_up_12m')
    ) THEN
        RAISE EXCEPTION 'referral % has follow-ups planned; it stays open', NEW.id
            USING ERRCODE = '23514', CONSTRAINT = 'referral_trm_open';
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER referral_trm_keeps_open BEFORE UPDATE OF state ON referral
    FOR EACH ROW EXECUTE FUNCTION referral_trm_keeps_open();
