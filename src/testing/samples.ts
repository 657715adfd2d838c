/**
 * Kaleyra's own callback samples (../shared/reference/kaleyra-callback-profiles.txt), for tests.
 * Tests start from these and change only what the case is about.
 */

/** The provider's POST sample body, field for field, with optional overrides. */
export function postSample(over: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    sender: 'TEST',
    recipient: '919620838XXX',
    type: 'DEFAULT',
    flash: 0,
    total: 1,
    source: 'API',
    price: '0.001354',
    iso_code: 'IN',
    message_id: 'ebcccXXf-6311-4c52-b23d-afeXXX5fc336:1',
    country_name: 'India',
    campaign_name: '',
    length: 5,
    units: 1,
    sent_time: '2022-04-05 09:55:50',
    status_time: '2022-04-05 08:55:50+00:00',
    status_trace: 'REJECTED-MULTIPART',
    status: 'Undelivered',
    description: 'Validation fail [SMS over 160 characters]',
    id: 'ebccc6ff-6311-4XXc-b23d-afe6fXXXXXf6',
    ref: '',
    ref1: '',
    ref2: '',
    ...over,
  };
}

/**
 * The provider's GET sample. The page shows only its tail
 * (`...Rejected as the number is blacklisted by operator.&id=84352649-f610-4fd7-b7de-c163be9b1XXX&ref=&ref1=&ref2=`);
 * the head is the POST sample's fields as a GET profile sends them: every value a string,
 * spaces as %20, and status_time's "+" left raw, so form-decoding turns it into a space.
 */
export const GET_SAMPLE_QUERY =
  'sender=TEST&recipient=919620838XXX&type=DEFAULT&flash=0&total=1&source=API&price=0.001354&iso_code=IN' +
  '&message_id=84352649-f610-4fd7-b7de-c163be9b1XXX:1&country_name=India&campaign_name=&length=5&units=1' +
  '&sent_time=2022-04-05%2009:55:50&status_time=2022-04-05%2008:55:50+00:00' +
  '&status_trace=BLACKLIST&status=Not%20Sent' +
  '&description=Rejected%20as%20the%20number%20is%20blacklisted%20by%20operator.' +
  '&id=84352649-f610-4fd7-b7de-c163be9b1XXX&ref=&ref1=&ref2=';
