/* The guest of a parsed reservation: the primary ResGuest's Customer (or the booker under
 * ResGlobalInfo/Profiles, or an OTA_CancelRQ's Verification), normalised, with the consent
 * marker AlpineBits carries as Email Remark="newsletter:yes|no". */
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "events/key.h"
#include "ota/res_parse_internal.h"

static bool flag_true(const char *v)
{
    return strcmp(v, "true") == 0 || strcmp(v, "1") == 0;
}

/* The Customer element of a Profiles block: ProfileType 1 (customer) preferred. */
static const xmlNode *customer_in(const xmlNode *profiles)
{
    const xmlNode *any = NULL;
    for (xmlNode *pi = ota_xml_child(profiles, "ProfileInfo"); pi;
         pi = ota_xml_next(pi, "ProfileInfo")) {
        const xmlNode *prof = ota_xml_child(pi, "Profile");
        const xmlNode *cust = ota_xml_child(prof, "Customer");
        char type[8];
        ota_xml_attr(prof, "ProfileType", type, sizeof(type));
        if (cust && (strcmp(type, "1") == 0 || !type[0]))
            return cust;
        if (cust && !any)
            any = cust;
    }
    return any;
}

static const xmlNode *find_customer(const xmlNode *el)
{
    const xmlNode *guests = ota_xml_child(el, "ResGuests");
    const xmlNode *chosen = NULL;
    for (xmlNode *g = ota_xml_child(guests, "ResGuest"); g; g = ota_xml_next(g, "ResGuest")) {
        char primary[8];
        ota_xml_attr(g, "PrimaryIndicator", primary, sizeof(primary));
        const xmlNode *c = customer_in(ota_xml_child(g, "Profiles"));
        if (c && flag_true(primary))
            return c;
        if (c && !chosen)
            chosen = c;
    }
    if (!chosen)
        chosen = customer_in(ota_xml_path(el, "ResGlobalInfo/Profiles"));
    if (!chosen)
        chosen = customer_in(ota_xml_child(el, "Profiles"));
    return chosen;
}

static void norm_language(const char *in, char out[16])
{
    out[0] = '\0';
    if (isalpha((unsigned char)in[0]) && isalpha((unsigned char)in[1]) &&
        (in[2] == '\0' || in[2] == '-' || in[2] == '_')) {
        out[0] = (char)tolower((unsigned char)in[0]);
        out[1] = (char)tolower((unsigned char)in[1]);
        out[2] = '\0';
    }
}

static void norm_country(const char *in, char out[8])
{
    out[0] = '\0';
    if (isalpha((unsigned char)in[0]) && isalpha((unsigned char)in[1]) && in[2] == '\0') {
        out[0] = (char)toupper((unsigned char)in[0]);
        out[1] = (char)toupper((unsigned char)in[1]);
        out[2] = '\0';
    }
}

static void read_email(const xmlNode *email, struct ota_guest *g)
{
    char addr[320];
    if (!ota_xml_text(email, addr, sizeof(addr)))
        return;
    for (char *p = addr; *p; p++)
        *p = (char)tolower((unsigned char)*p);
    if (evkey_email_valid(addr))
        snprintf(g->email, sizeof(g->email), "%s", addr);
    char remark[128];
    if (!ota_xml_attr(email, "Remark", remark, sizeof(remark)))
        return;
    char low[128];
    size_t k = 0;
    for (; remark[k] && k + 1 < sizeof(low); k++)
        low[k] = (char)tolower((unsigned char)remark[k]);
    low[k] = '\0';
    if (strcmp(low, "newsletter:yes") == 0)
        g->consent_given = true;
    else if (strcmp(low, "newsletter:no") == 0)
        g->consent_refused = true;
    else
        return;
    snprintf(g->consent_text, sizeof(g->consent_text), "%s", low);
}

static void read_person(const xmlNode *pn, struct ota_guest *g)
{
    ota_xml_text(ota_xml_child(pn, "GivenName"), g->given_name, sizeof(g->given_name));
    ota_xml_text(ota_xml_child(pn, "Surname"), g->surname, sizeof(g->surname));
}

void ota_parse_guest(const xmlNode *el, struct ota_guest *g)
{
    memset(g, 0, sizeof(*g));
    const xmlNode *c = find_customer(el);
    if (!c) {
        /* OTA_CancelRQ: Verification carries the name and sometimes the address. */
        const xmlNode *v = ota_xml_child(el, "Verification");
        read_person(ota_xml_child(v, "PersonName"), g);
        read_email(ota_xml_child(v, "Email"), g);
    } else {
        char v[64];
        read_person(ota_xml_child(c, "PersonName"), g);
        read_email(ota_xml_child(c, "Email"), g);
        ota_xml_attr(ota_xml_child(c, "Telephone"), "PhoneNumber", g->phone, sizeof(g->phone));
        if (ota_xml_attr(c, "Language", v, sizeof(v)))
            norm_language(v, g->language);
        const xmlNode *addr = ota_xml_child(c, "Address");
        if (ota_xml_attr(ota_xml_child(addr, "CountryName"), "Code", v, sizeof(v)))
            norm_country(v, g->country);
    }
    ota_mask_card_runs(g->given_name);
    ota_mask_card_runs(g->surname);
    ota_mask_card_runs(g->phone);
}
