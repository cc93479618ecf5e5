-- csomatch 0021: a ledger amount whose EUR value would not fit numeric(16, 2) (a wrong rate,
-- an absurd amount) gets amount_eur NULL ("unknown") instead of failing the whole import.
CREATE OR REPLACE FUNCTION funding_amount_eur() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    eur numeric := NEW.amount * eur_rate(NEW.currency, coalesce(NEW.value_date, NEW.period_start));
BEGIN
    NEW.amount_eur := CASE WHEN eur < 1e14 THEN round(eur, 2) END;
    RETURN NEW;
END $$;
