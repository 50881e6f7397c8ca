#!/usr/bin/env bash
# Measures Mailgate's bounce/complaint parsing and classification against a labelled corpus,
# without a server: it runs io.mailgate.feedback.CorpusBenchmark from the shaded jar, i.e. the
# same FeedbackParser and the same BounceClassifier (shipped default rules) the server uses.
#
# Usage: benchmarks/bounce-corpus.sh [--verbose] <eml-dir> <labels.tsv>
#   e.g. benchmarks/bounce-corpus.sh /work/shared/corpora/bounces/eml /work/shared/corpora/bounces/labels.tsv
#
# labels.tsv columns: file, recipient (1-based index of the recipient within the message),
# status, reply_code, reason, hard_bounce, feedback_type. Any corpus in that format works.
# --verbose prints one MISMATCH line per labelled row that disagrees, with what we found.
#
# The line before the last gives each figure as agreeing/total rows ("counts ..."). The last is:
#   summary files=N recipients_found=P% status_agree=Q% hard_soft_agree=R% feedback_type_agree=S%
# where
#   files              distinct files named in labels.tsv (each parsed once).
#   recipients_found   of all labelled rows, the share for which the parser returned a recipient at
#                      that index (the index-th entry of FeedbackReport.recipients() exists and holds
#                      an address). The labels carry no address, so the address itself is not
#                      compared, only that the parser found that many recipients.
#   status_agree       of labelled rows with a non-empty status, the share where our recipient at
#                      that index exists and its enhanced status equals the label. Labels from
#                      sisimai use pseudo codes x.0.9xx (not RFC 3463) when the message carried no
#                      status at all; for those, "agree" means we also extracted no status. The
#                      status_agree_excluding_sisimai_pseudo_codes line gives real codes only.
#   hard_soft_agree    of labelled bounce rows (reason is not "feedback"), the share where the
#                      recipient was found and (our BounceClassifier says Permanent) == hard_bounce.
#                      A recipient we did not find counts as a disagreement.
#                      hard_bounce is the labeller's suppress / don't-suppress decision, and
#                      Permanent is ours (Mailgate suppresses Permanent addresses), so the two are
#                      compared as they are: rows whose label reason is undetermined (sisimai's
#                      undefined, onhold) or not a failure (delivered) stay in, since their false
#                      still means "do not suppress"; and a 4xx the labeller files under a hard
#                      reason (userunknown) counts as a disagreement, because Mailgate never
#                      suppresses on a 4xx. Alternatives considered: benchmarks/RESULTS.md (bounce corpus).
#   feedback_type_agree of rows with a feedback_type, the share where the report's ARF
#                      Feedback-Type (FeedbackReport.complaint().feedbackType()) equals it.
set -euo pipefail
cd "$(dirname "$0")/.."
JAR=target/mailgate.jar
if [[ ! -f "$JAR" || -n "$(find src pom.xml -newer "$JAR" -print -quit)" ]]; then
  ./mvnw -B -q -DskipTests package >&2
fi
exec java -cp "$JAR" io.mailgate.feedback.CorpusBenchmark "$@"
