-- The handover on the record (issue 13, item 6): each service's intake duty phone, the number
-- a referring officer calls once a placement is confirmed. E.164, checked with the
-- phonenumbers library before it is stored. A confidential shelter's number is shown like its
-- address: to the coordinators and admins of its jurisdiction and, while a placement there is
-- active, to the officer who referred the person (registry/addresses.py).
ALTER TABLE service ADD COLUMN duty_phone text
    CONSTRAINT service_duty_phone_e164 CHECK (duty_phone ~ '^\+[1-9][0-9]{6,14}$');
