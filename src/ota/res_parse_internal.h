/* Private to the reservation parser (res_parse*.c): the card-data scrubber, the per-reservation
 * field readers and the canonical revision key. Other ota/ modules use only the scrubbers
 * (the pull keeps a scrubbed copy of a refused answer; webhooks mask free text). */
#ifndef HERALD_OTA_RES_PARSE_INTERNAL_H
#define HERALD_OTA_RES_PARSE_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>

#include "ota/reservations.h"
#include "ota/xml.h"

#define OTA_COMMENTS_MAX 4000
#define OTA_MAX_ROOMS 100

/* Unlinks and frees every payment element under root (Guarantee, PaymentCard, CardNumber,
 * SeriesCode, …), wiping their text first. Returns how many subtrees were dropped. */
size_t ota_scrub_payment(xmlNode *root);
/* Masks with 'X' every run of 13-19 digits (spaces and dashes allowed between them) passing
 * the Luhn check: a card number typed into free text never leaves the parser. */
void ota_mask_card_runs(char *s);
/* A copy of at most `max` bytes of a raw channel answer that is safe to keep (a dead letter):
 * every payment element is cut out at the text level, so it works on malformed XML too, and
 * card-like digit runs are masked. NULL for NULL or when out of memory; free() it. */
char *ota_scrub_raw_copy(const char *body, size_t max);

/* Fills one reservation from a HotelReservation / HotelResModify element (or the OTA_CancelRQ
 * root). default_status is what the message kind implies; root_status the root's ResStatus
 * ("" when absent). HERALD_ERR_INVALID names the element in err->field. */
enum herald_err ota_parse_reservation(const xmlNode *el, enum ota_msg_kind kind,
                                      const char *root_status, const char *path,
                                      struct ota_reservation *out, struct herald_error *err);
/* The guest of a reservation element (ResGuests, then ResGlobalInfo/Profiles, then the
 * CancelRQ's Verification). */
void ota_parse_guest(const xmlNode *el, struct ota_guest *g);
/* Room stays, their totals and the stay's span. */
enum herald_err ota_parse_rooms(const xmlNode *el, const char *path, struct ota_reservation *r,
                                struct herald_error *err);

/* "YYYY-MM-DD" prefix of s into out (OTA_DATE_LEN) when it is a valid date; false otherwise. */
bool ota_parse_date(const char *s, char out[OTA_DATE_LEN]);
/* Adds decimal text b to a (both "123.45"-like, at most 4 decimals); false on bad input. */
bool ota_decimal_add(char *a, size_t cap, const char *b);
/* Whether s is a plain decimal amount ("120", "-3.50"). */
bool ota_decimal_ok(const char *s);

#endif
