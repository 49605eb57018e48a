#!/usr/bin/env python3
"""Validate the Kerio Sigma rules and write rules/dist (run by `make rules`).

Every rule is loaded and checked with pySigma's validators, converted with the
siemfwd pipeline to Lucene (plain and as query DSL), ES|QL and EQL where the
Elasticsearch backend supports the rule, and the results are written as:

  rules.json                      every rule: its queries and, for correlation
                                  rules, the count/value/sequence/new-terms
                                  parameters (the scenario tests read this)
  kibana-saved-searches.ndjson    the backend's kibana_ndjson output (Discover
                                  saved searches) plus the index pattern they use
  elastic-security-rules.ndjson   Elastic Security detection rules: query rules
                                  from the backend's siem_rule_ndjson output,
                                  threshold rules for event_count/value_count,
                                  EQL sequences for temporal_ordered, new_terms
                                  rules for siemfwd_new_terms

Output is deterministic, so a test can regenerate it and compare.
"""

import argparse
import copy
import functools
import json
import sys
import tempfile
from importlib.metadata import version
from pathlib import Path

import yaml
from sigma.backends.elasticsearch import EqlBackend, ESQLBackend, LuceneBackend
from sigma.collection import SigmaCollection
from sigma.correlations import SigmaCorrelationRule
from sigma.data import mitre_attack
from sigma.exceptions import SigmaError
from sigma.processing.pipeline import ProcessingPipeline
from sigma.rule import SigmaRule
from sigma.validation import SigmaValidator
from sigma.validators.core import validators

HERE = Path(__file__).resolve().parent
RULE_DIRS = [HERE / "kerio_connect", HERE / "kerio_control"]
PIPELINE = HERE / "pipelines" / "siemfwd.yml"
# pySigma fetches MITRE ATT&CK from the network unless told otherwise; the pack
# carries the tactics and techniques it uses (IDs and names as MITRE publishes
# them), so validation and conversion work offline and give the same output.
ATTACK_DATA = HERE / "attack.json"
# The index pattern siemfwd's Elasticsearch sink writes Kerio data streams to
# (logs-<event.dataset>-<namespace>) and its index template covers.
INDEX_PATTERN = "logs-kerio*"
KIBANA_INDEX_PATTERN_ID = "siemfwd-logs-kerio"
# Elastic Security schedules every rule this often; a correlation looks back
# over its own timespan.
INTERVAL = "5m"
# Validators that do not fit a pack whose rule files hold several rules and
# whose references point into the repository.
# D3FEND data would be fetched from the network and the pack has no D3FEND tags.
SKIPPED_VALIDATORS = {"duplicate_filename", "filename_length", "d3_fendtag"}


def rule_files():
    return sorted(p for d in RULE_DIRS for p in d.rglob("*.yml"))


def load():
    """A fresh collection: conversion changes rules in place, so each backend gets its own."""
    coll = SigmaCollection.load_ruleset([str(p) for p in rule_files()], collect_errors=True)
    errors = [e for r in coll.rules for e in r.errors] + list(getattr(coll, "errors", []))
    if errors:
        sys.exit("invalid Sigma rules:\n" + "\n".join(f"  {e}" for e in errors))
    coll.resolve_rule_references()
    return coll


@functools.cache
def pipeline_dict():
    """The pipeline file, parsed once (parsing it for every conversion took most of the run)."""
    return yaml.safe_load(PIPELINE.read_text())


def pipeline():
    return ProcessingPipeline.from_dict(copy.deepcopy(pipeline_dict()))


def validate(coll):
    chosen = [cls for name, cls in sorted(validators.items()) if name not in SKIPPED_VALIDATORS]
    issues = SigmaValidator(chosen).validate_rules(coll.rules)
    if issues:
        sys.exit("Sigma validation issues:\n" + "\n".join(f"  {i}" for i in issues))
    names = [r.name for r in coll.rules]
    if len(set(names)) != len(names) or None in names:
        sys.exit("every rule needs a unique name")


def source_file(rule):
    return str(Path(str(rule.source.path)).resolve().relative_to(HERE.parent))


def base_queries(rule, backend_cls, fmt, **opts):
    """Converts a base rule on its own (a fresh copy, no correlation back-references)."""
    fresh = SigmaRule.from_dict(copy.deepcopy(rule.to_dict()))
    return backend_cls(pipeline(), **opts).convert_rule(fresh, fmt)


def correlation_queries(backend_cls):
    """Converts every correlation rule with one backend: name -> query or the reason it cannot."""
    coll = load()
    backend = backend_cls(pipeline())
    backend.init_processing_pipeline("default")
    for r in coll.rules:
        if isinstance(r, SigmaRule):
            backend.convert_rule(r, "default")
    out = {}
    pending = [r for r in coll.rules if isinstance(r, SigmaCorrelationRule)]
    while pending:  # references before the rules that chain them
        r = pending.pop(0)
        if any(isinstance(x.rule, SigmaCorrelationRule) and x.rule.name not in out for x in r.rules):
            pending.append(r)
            continue
        try:
            queries = backend.convert_correlation_rule(r, "default")
            out[r.name] = {"query": "\n".join(queries)}
        except (SigmaError, NotImplementedError) as e:
            out[r.name] = {"unsupported": str(e).split(" in ")[0] if " in /" in str(e) else str(e)}
    return out


def seconds(timespan):
    return int(timespan.seconds)


def spec(timespan):
    return timespan.spec


def describe(coll):
    """The rule list that rules.json carries, without queries yet."""
    referenced = {x.rule.name for r in coll.rules if isinstance(r, SigmaCorrelationRule) for x in r.rules}
    out = []
    for r in coll.rules:
        d = {
            "name": r.name,
            "id": str(r.id),
            "title": r.title,
            "file": source_file(r),
            "level": r.level.name.lower() if r.level else None,
            "building_block": r.name in referenced,
        }
        if isinstance(r, SigmaCorrelationRule):
            c = {
                "rules": [x.rule.name for x in r.rules],
                "group_by": list(r.group_by or []),
                "timespan": spec(r.timespan),
                "timespan_seconds": seconds(r.timespan),
            }
            if r.condition is not None:
                c["gte"] = r.condition.count
                if r.condition.fieldref:
                    c["field"] = r.condition.fieldref
                op = r.condition.op.name.lower()
                if op != "gte":
                    sys.exit(f"{r.name}: only gte conditions are supported by the pack's Elastic output, got {op}")
            d["type"] = r.type.name.lower()
            d["correlation"] = c
        else:
            d["type"] = "query"
            nt = r.custom_attributes.get("siemfwd_new_terms")
            if nt:
                d["type"] = "new_terms"
                d["new_terms"] = {"fields": list(nt["fields"]), "history_window": nt["history_window"]}
        out.append(d)
    return out


def threat(tags):
    return list(LuceneBackend(pipeline()).finalize_output_threat_model(list(tags)))


def security_rule(rule, entry, base):
    """An Elastic Security rule for a correlation or new-terms rule, built from the
    backend's query rule layout (base) so every rule shares one form."""
    out = dict(base)
    out.update(
        {
            "id": entry["id"],
            "rule_id": entry["id"],
            "name": f"SIGMA - {rule.title}",
            "description": rule.description,
            "false_positives": list(rule.falsepositives or []),
            "severity": entry["level"] if entry["level"] not in (None, "informational") else "low",
            "risk_score": LuceneBackend(pipeline()).severity_risk_mapping[rule.level.name],
            "threat": threat(rule.tags),
            "tags": [f"{t.namespace}-{t.name}" for t in rule.tags],
            "references": list(rule.references or []),
            "author": list(filter(None, [rule.author])),
        }
    )
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default=str(HERE / "dist"), help="output folder (default rules/dist)")
    args = ap.parse_args()
    outdir = Path(args.out)
    outdir.mkdir(parents=True, exist_ok=True)
    cache = tempfile.TemporaryDirectory(prefix="siemfwd-rules-")
    mitre_attack.set_cache_dir(cache.name)
    mitre_attack.set_url(str(ATTACK_DATA))

    coll = load()
    validate(coll)
    entries = describe(coll)
    by_name = {r.name: r for r in coll.rules}
    esql = correlation_queries(ESQLBackend)
    eql = correlation_queries(EqlBackend)
    opts = {"index_names": [INDEX_PATTERN]}

    saved_searches = [
        {
            "type": "index-pattern",
            "id": KIBANA_INDEX_PATTERN_ID,
            "attributes": {"title": INDEX_PATTERN, "timeFieldName": "@timestamp"},
            "references": [],
        }
    ]
    security = []
    for e in entries:
        rule = by_name[e["name"]]
        if isinstance(rule, SigmaRule):
            e["lucene"] = base_queries(rule, LuceneBackend, "default")[0]
            e["dsl_lucene"] = base_queries(rule, LuceneBackend, "dsl_lucene")[0]
            e["esql"] = base_queries(rule, ESQLBackend, "default")[0]
            e["eql"] = base_queries(rule, EqlBackend, "default")[0]
            search = base_queries(rule, LuceneBackend, "kibana_ndjson")[0]
            meta = search["attributes"]["kibanaSavedObjectMeta"]
            src = json.loads(meta["searchSourceJSON"])
            src["index"] = KIBANA_INDEX_PATTERN_ID
            meta["searchSourceJSON"] = json.dumps(src, sort_keys=True)
            search["references"][0]["id"] = KIBANA_INDEX_PATTERN_ID
            saved_searches.append(search)
            if e["building_block"]:
                continue
            siem = base_queries(rule, LuceneBackend, "siem_rule_ndjson", **opts)[0]
            if e["type"] == "new_terms":
                siem.update(
                    {
                        "type": "new_terms",
                        "new_terms_fields": e["new_terms"]["fields"],
                        "history_window_start": "now-" + e["new_terms"]["history_window"],
                    }
                )
            security.append(siem)
            continue

        c = e["correlation"]
        for name, conv in (("esql", esql), ("eql", eql)):
            got = conv[e["name"]]
            if "query" in got:
                e[name] = got["query"]
            else:
                e[name + "_unsupported"] = got["unsupported"]
        # The backend writes EQL for these, but it does not mean the rule: a
        # value_count becomes a sequence joined on the counted field (the same
        # value N times, not N distinct values), and a chained sequence nests
        # a sequence inside a step, which EQL does not allow.
        if e["type"] == "value_count":
            e.pop("eql", None)
            e["eql_unsupported"] = "EQL has no distinct count; use the threshold rule with cardinality in elastic-security-rules.ndjson"
        if e["type"] == "temporal_ordered" and any(isinstance(by_name[n], SigmaCorrelationRule) for n in c["rules"]):
            e.pop("eql", None)
            e["eql_unsupported"] = "the backend cannot chain a correlation into a sequence; see elastic_eql"
        refs = [by_name[n] for n in c["rules"]]
        if all(isinstance(r, SigmaRule) for r in refs):
            parts = [base_queries(r, LuceneBackend, "default")[0] for r in refs]
            e["lucene"] = parts[0] if len(parts) == 1 else " OR ".join(f"({p})" for p in parts)
        if e["building_block"]:
            continue
        base = base_queries(refs[0], LuceneBackend, "siem_rule_ndjson", **opts)[0] if isinstance(refs[0], SigmaRule) else None
        if base is None:
            first = next(x for x in coll.rules if isinstance(x, SigmaRule))
            base = base_queries(first, LuceneBackend, "siem_rule_ndjson", **opts)[0]
        sr = security_rule(rule, e, base)
        sr["from"] = "now-" + c["timespan"]
        sr["interval"] = INTERVAL
        if e["type"] in ("event_count", "value_count"):
            sr["type"] = "threshold"
            sr["query"] = e["lucene"]
            th = {"field": c["group_by"], "value": c["gte"]}
            if e["type"] == "value_count":
                th = {"field": c["group_by"], "value": 1, "cardinality": [{"field": c["field"], "value": c["gte"]}]}
            sr["threshold"] = th
        elif e["type"] == "temporal_ordered":
            steps = []
            for r in refs:
                if isinstance(r, SigmaRule):
                    steps.append(f"  [{base_queries(r, EqlBackend, 'default')[0]}]")
                    continue
                inner = next(x for x in entries if x["name"] == r.name)["correlation"]
                if r.type.name.lower() != "event_count" or len(inner["rules"]) != 1 or inner["group_by"] != c["group_by"]:
                    sys.exit(f"{e['name']}: a sequence step must be a base rule or an event_count of one rule grouped alike")
                q = base_queries(by_name[inner["rules"][0]], EqlBackend, "default")[0]
                steps.append(f"  [{q}] with runs={inner['gte']}")
            sr["type"] = "eql"
            sr["language"] = "eql"
            sr["query"] = f"sequence by {', '.join(c['group_by'])} with maxspan={c['timespan']}\n" + "\n".join(steps)
            e["elastic_eql"] = sr["query"]
        else:
            sys.exit(f"{e['name']}: correlation type {e['type']} has no Elastic Security form in this pack")
        security.append(sr)

    doc = {
        "generator": {
            "pySigma": version("pySigma"),
            "pySigma-backend-elasticsearch": version("pySigma-backend-elasticsearch"),
            "pipeline": str(PIPELINE.relative_to(HERE.parent)),
            "index_pattern": INDEX_PATTERN,
        },
        "rules": entries,
    }
    (outdir / "rules.json").write_text(json.dumps(doc, indent=2, sort_keys=True) + "\n")
    ndjson = lambda objs: "".join(json.dumps(o, sort_keys=True) + "\n" for o in objs)
    (outdir / "kibana-saved-searches.ndjson").write_text(ndjson(saved_searches))
    (outdir / "elastic-security-rules.ndjson").write_text(ndjson(security))
    shipped = sum(1 for e in entries if not e["building_block"])
    print(f"{len(entries)} rules ({shipped} alerting, {len(entries) - shipped} building blocks) -> {outdir}")


if __name__ == "__main__":
    main()
