// From libopendkim's per-signature state to RFC 8601 results. RFC 6376 §3.9 and §6.1 sort
// outcomes into SUCCESS, PERMFAIL and TEMPFAIL; RFC 8601 §2.7.1 splits PERMFAIL into `fail` (the
// cryptography says the message changed) and `permerror` (the signature or its key cannot be
// evaluated: bad syntax, no key, unusable key, expired, historic algorithm).
#include "dkim_verify_internal.hpp"

namespace postern::dns::dkim {

std::string_view describe(int sigerror) {
    switch (sigerror) {
        case DKIM_SIGERROR_VERSION:
            return "unsupported signature version (v=)";
        case DKIM_SIGERROR_DOMAIN:
            return "i= is not within d=";
        case DKIM_SIGERROR_EXPIRED:
            return "signature expired";
        case DKIM_SIGERROR_FUTURE:
            return "signature is dated in the future";
        case DKIM_SIGERROR_TIMESTAMPS:
            return "x= is not after t=";
        case DKIM_SIGERROR_INVALID_HC:
            return "unknown header canonicalization (c=)";
        case DKIM_SIGERROR_INVALID_BC:
            return "unknown body canonicalization (c=)";
        case DKIM_SIGERROR_MISSING_A:
            return "a= missing";
        case DKIM_SIGERROR_INVALID_A:
            return "unknown signing algorithm (a=)";
        case DKIM_SIGERROR_MISSING_H:
            return "h= missing";
        case DKIM_SIGERROR_EMPTY_H:
            return "h= empty";
        case DKIM_SIGERROR_INVALID_H:
            return "h= does not include From";
        case DKIM_SIGERROR_INVALID_L:
            return "l= is not a number";
        case DKIM_SIGERROR_INVALID_Q:
        case DKIM_SIGERROR_INVALID_QO:
            return "unknown query method (q=)";
        case DKIM_SIGERROR_MISSING_D:
            return "d= missing";
        case DKIM_SIGERROR_EMPTY_D:
            return "d= empty";
        case DKIM_SIGERROR_MISSING_S:
            return "s= missing";
        case DKIM_SIGERROR_EMPTY_S:
            return "s= empty";
        case DKIM_SIGERROR_MISSING_B:
            return "b= missing";
        case DKIM_SIGERROR_EMPTY_B:
            return "b= empty";
        case DKIM_SIGERROR_CORRUPT_B:
            return "b= is not base64";
        case DKIM_SIGERROR_MISSING_BH:
            return "bh= missing";
        case DKIM_SIGERROR_EMPTY_BH:
            return "bh= empty";
        case DKIM_SIGERROR_CORRUPT_BH:
            return "bh= is not base64";
        case DKIM_SIGERROR_MISSING_V:
            return "v= missing";
        case DKIM_SIGERROR_EMPTY_V:
            return "v= empty";
        case DKIM_SIGERROR_NOKEY:
            return "no key record";
        case DKIM_SIGERROR_DNSSYNTAX:
            return "key record syntax error";
        case DKIM_SIGERROR_KEYFAIL:
            return "key lookup failed";
        case DKIM_SIGERROR_MULTIREPLY:
            return "several key records";
        case DKIM_SIGERROR_KEYVERSION:
            return "key record has an unknown version (v=)";
        case DKIM_SIGERROR_KEYUNKNOWNHASH:
            return "key record names an unknown hash (h=)";
        case DKIM_SIGERROR_KEYHASHMISMATCH:
            return "key does not allow the signature's hash (h=)";
        case DKIM_SIGERROR_NOTEMAILKEY:
            return "key is not for email (s=)";
        case DKIM_SIGERROR_KEYTYPEMISSING:
            return "key record has no key type (k=)";
        case DKIM_SIGERROR_KEYTYPEUNKNOWN:
            return "key record has an unknown key type (k=)";
        case DKIM_SIGERROR_KEYREVOKED:
            return "key revoked (empty p=)";
        case DKIM_SIGERROR_KEYDECODE:
            return "key (p=) cannot be decoded for this algorithm";
        case DKIM_SIGERROR_KEYTOOSMALL:
            return "RSA key shorter than 1024 bits (RFC 8301)";
        case DKIM_SIGERROR_SUBDOMAIN:
            return "key has t=s but i= is in a subdomain of d=";
        case DKIM_SIGERROR_TOOLARGE_L:
            return "l= is longer than the body";
        case DKIM_SIGERROR_BADSIG:
            return "signature did not verify";
        default: {
            const char* s = dkim_sig_geterrorstr(sigerror);
            return s != nullptr ? s : "unknown error";
        }
    }
}

void classify(DKIM_SIGINFO* info, DkimResult& out) {
    const unsigned flags = dkim_sig_getflags(info);
    const int bh = dkim_sig_getbh(info);
    const int error = dkim_sig_geterror(info);
    out.testing = (flags & DKIM_SIGFLAG_TESTKEY) != 0;
    if ((flags & DKIM_SIGFLAG_PASSED) != 0 && bh == DKIM_SIGBH_MATCH && error == DKIM_SIGERROR_OK) {
        out.status = DkimStatus::pass;
        if (out.testing) out.reason = "key is in test mode (t=y)";
        return;
    }
    out.reason = describe(error);
    switch (error) {
        case DKIM_SIGERROR_BADSIG:
            out.status = DkimStatus::fail;
            if (bh == DKIM_SIGBH_MISMATCH)
                out.reason = "body hash did not verify (the body was changed)";
            else
                out.reason = "signature did not verify (a signed header field was changed)";
            return;
        case DKIM_SIGERROR_TOOLARGE_L:
            out.status = DkimStatus::fail;
            return;
        case DKIM_SIGERROR_KEYFAIL:
            out.status = DkimStatus::temperror;
            return;
        case DKIM_SIGERROR_UNKNOWN:
            // dkim_sig_process() stopped before deciding (it only does so on resource errors).
            out.status = DkimStatus::temperror;
            out.reason = "verification did not complete";
            return;
        case DKIM_SIGERROR_OK:
            // Processed without an error but not passed: the body was not hashed.
            out.status = DkimStatus::temperror;
            out.reason = "body hash not checked";
            return;
        default:
            out.status = DkimStatus::permerror;
            return;
    }
}

}  // namespace postern::dns::dkim
