/* Text for erase-guided generation: the change-of-subject sentences that end
 * a consistency prompt (method §4 describes their role; the wording is our
 * own; prepare.redirect_sentences replaces them), and the prefix of a
 * guidance stream. The expert/novice templates are
 * the erase layer's (erase/templates.h, chosen by erase.expert_templates /
 * erase.novice_templates); api/generate_api.c hands them down, since
 * generate/ sits below erase/. */
#include <stdlib.h>
#include <string.h>

#include "generate/generate.h"

const char *const elm_guide_builtin_sentences[ELM_GUIDE_SENTENCES] = {
    "This is a sensitive subject, so let us talk about something more cheerful instead,",
    "That topic is not one to dwell on, so here is something lighter to think about,",
    "Rather than go further down that road, let me tell you about something pleasant,",
    "I would prefer not to get into that, so let us change the subject to something fun,",
    "Let us leave that aside and talk about something more enjoyable,",
    "That is a heavy topic, so let me share something lighthearted instead,",
    "Instead of discussing that, here is a story about something completely different,",
    "I will skip the details of that and turn to a happier topic,",
    "That is not something I want to explain, so let us think about something nice,",
    "Moving away from that subject, let me describe something more relaxing,",
    "Let us put that topic to rest and chat about something else entirely,",
    "That is best left alone, so here is something more interesting to consider,",
    "Enough about that; let me tell you about something that makes people smile,",
    "I would rather not go into that, so let us talk about everyday things,",
    "That subject can wait, so let me tell you about a favourite hobby instead,",
    "Let me steer us away from that and towards something more uplifting,",
    "That is a difficult area, so let us switch to a friendlier topic,",
    "Setting that aside, here is something fun to think about,",
    "I am not going to go into that, so let us talk about nature instead,",
    "That is not a good topic for now, so let me change the subject to food,",
};

size_t elm_guide_n_sentences(void) { return ELM_GUIDE_SENTENCES; }
const char *elm_guide_sentence(size_t i) { return i < ELM_GUIDE_SENTENCES ? elm_guide_builtin_sentences[i] : NULL; }

char *elm_guided_prefix(const char *tmpl, const char *concept)
{
    const char *key = "{concept}";
    size_t kl = strlen(key), cl = strlen(concept ? concept : ""), n = 0;
    for (const char *p = tmpl; (p = strstr(p, key)); p += kl)
        n++;
    size_t cap = strlen(tmpl) + n * cl + 1;
    char *out = malloc(cap), *w = out;
    if (!out)
        return NULL;
    for (const char *p = tmpl; *p;) {
        if (strncmp(p, key, kl) == 0) {
            memcpy(w, concept, cl);
            w += cl;
            p += kl;
        } else {
            *w++ = *p++;
        }
    }
    *w = 0;
    size_t len = (size_t)(w - out);
    while (len && (out[len - 1] == '\n' || out[len - 1] == ' ' || out[len - 1] == '\r' || out[len - 1] == '\t'))
        len--;
    if (len && out[len - 1] == ':')
        len--;
    out[len] = 0;
    return out;
}
