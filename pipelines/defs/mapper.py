"""Mapper model assets: train a candidate, evaluate it, gate it, promote it.

The candidate is trained only when the NOC data or the mapper code changed (otherwise the step
yields nothing and everything downstream is skipped). The blocking check
``mapper/evaluations:not_worse_than_promoted`` keeps a worse model from being promoted; it does
not stop the warehouse from being published (see PROMOTION_GATES in resources.py).
"""

import dagster as dg

from nocfit import mapper_ops
from pipelines.defs.common import RETRAIN_TAG, WAREHOUSE_POOL, check_result, forced, table_key
from pipelines.defs.resources import ModelStoreResource, SourcesResource, WarehouseResource, say

GROUP = "mapper"
CANDIDATE = dg.AssetKey(["models", "candidate"])
PROMOTED = dg.AssetKey(["models", "promoted"])
EVALUATIONS = table_key("mapper.evaluations")
TRAINING_INPUTS = [
    "noc.unit_groups",
    "noc.titles",
    "noc.all_examples",
    "noc.main_duties",
    "noc.lead_statements",
    "noc.exclusions",
    "noc.workplaces",
]


@dg.asset(
    key=CANDIDATE,
    deps=[table_key(t) for t in TRAINING_INPUTS],
    group_name=GROUP,
    kinds={"scikit-learn"},
    output_required=False,
    pool=WAREHOUSE_POOL,
    description="A mapper trained on the official NOC data (only when the data or the mapper code changed).",
)
def candidate_model(
    context: dg.AssetExecutionContext,
    warehouse: WarehouseResource,
    models: ModelStoreResource,
    sources: SourcesResource,
):
    trained = mapper_ops.train_candidate(
        warehouse.connection(),
        models.store(),
        context.run.run_id,
        force=forced(context, RETRAIN_TAG),
        labelled_set=mapper_ops.labelled_set(sources.source_folder()),
        log=lambda message: say(context.log, message),
    )
    if trained is None:
        return
    held = trained.metadata.get("held_out", {})
    yield dg.Output(
        None,
        metadata={
            "path": str(trained.path),
            "fingerprint": trained.fingerprint,
            "training_seconds": trained.metadata.get("training_seconds"),
            "held_out_top1": held.get("top1"),
            "held_out_ece": held.get("ece"),
            "status": "trained",
        },
    )


@dg.asset(
    key=EVALUATIONS,
    deps=[CANDIDATE],
    group_name=GROUP,
    kinds={"duckdb"},
    pool=WAREHOUSE_POOL,
    description="Top-1, top-5 and calibration error of the candidate and the promoted model, same data.",
)
def evaluations(
    context: dg.AssetExecutionContext,
    warehouse: WarehouseResource,
    models: ModelStoreResource,
    sources: SourcesResource,
) -> dg.MaterializeResult:
    store = models.store()
    labelled = mapper_ops.labelled_set(sources.source_folder())
    rows = mapper_ops.evaluate_models(
        warehouse.connection(), store, store.candidate_path(context.run.run_id), context.run.run_id, labelled
    )
    warehouse.mark_changed()
    overall = {r["model_role"]: r for r in rows if r["source"] == "all"}
    metadata = {"dataset": rows[0]["dataset"] if rows else "none", "rows": dg.MetadataValue.int(len(rows))}
    for role, row in overall.items():
        metadata |= {f"{role}_top1": row["top1"], f"{role}_top5": row["top5"], f"{role}_ece": row["ece"]}
    return dg.MaterializeResult(metadata=metadata)


@dg.asset_check(
    asset=EVALUATIONS,
    name="not_worse_than_promoted",
    blocking=True,
    description="The candidate's top-1 and top-5 are not worse than the promoted model's (same data).",
)
def not_worse_than_promoted(context: dg.AssetCheckExecutionContext, warehouse: WarehouseResource):
    return check_result(mapper_ops.gate(warehouse.connection(), context.run.run_id))


@dg.asset(
    key=PROMOTED,
    deps=[CANDIDATE, EVALUATIONS],
    group_name=GROUP,
    kinds={"scikit-learn"},
    pool=WAREHOUSE_POOL,
    description="The model `nocfit map` and `nocfit fit` use ($NOCFIT_MODELS/current.pkl).",
)
def promoted_model(
    context: dg.AssetExecutionContext, warehouse: WarehouseResource, models: ModelStoreResource
) -> dg.MaterializeResult:
    store = models.store()
    candidate = store.candidate_path(context.run.run_id)
    mapper_ops.record_promotion(warehouse.connection(), store, candidate, context.run.run_id)
    warehouse.mark_changed()
    # The model becomes current with the snapshot that records it: a run that fails in another
    # step publishes neither (it used to swap the model in and keep the old tables).
    warehouse.after_publish(lambda: store.promote(candidate))
    return dg.MaterializeResult(metadata={"path": str(store.current_path), "status": "promoted"})


ASSETS = [candidate_model, evaluations, promoted_model]
CHECKS = [not_worse_than_promoted]
