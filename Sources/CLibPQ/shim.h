#ifndef SUPPORTBILL_CLIBPQ_SHIM_H
#define SUPPORTBILL_CLIBPQ_SHIM_H

#include <libpq-fe.h>

// The PG_DIAG_* field codes are character macros, which Swift does not import.
static inline int supportbill_diag_sqlstate(void) { return PG_DIAG_SQLSTATE; }
static inline int supportbill_diag_severity(void) { return PG_DIAG_SEVERITY_NONLOCALIZED; }
static inline int supportbill_diag_message_primary(void) { return PG_DIAG_MESSAGE_PRIMARY; }
static inline int supportbill_diag_message_detail(void) { return PG_DIAG_MESSAGE_DETAIL; }
static inline int supportbill_diag_message_hint(void) { return PG_DIAG_MESSAGE_HINT; }
static inline int supportbill_diag_constraint_name(void) { return PG_DIAG_CONSTRAINT_NAME; }

#endif
