"""Lab-scoped JSON endpoints as declarations: list (paged, filtered on
allowed fields), create, read and update (at the version read), in the
spirit of Django REST framework's generics, on GenericView's scoping, so a
domain app's views say what, not how.

    class SampleList(ListCreateView):
        model = Sample
        writable_fields = ("barcode", "collected_at", "status", "reason")
        filter_fields = ("status",)

    class SampleDetail(RetrieveUpdateView):
        model = Sample
        writable_fields = ("collected_at", "status", "reason")

    urlpatterns = [
        path("", SampleList.as_view(), name="list"),           # GET, POST
        path("<int:pk>/", SampleDetail.as_view(), name="detail"),  # GET, PATCH
    ]

What each gives, over GenericView (the request's labs only, 404 for
another lab's row, JSON errors):

- a list: `GET ?limit=50&after=<id>&<filter>=<value>`, newest id first,
  `{"<list_key>": [...], "next": <id to pass as after, or null>}`. A filter
  value is converted by its field (a 400 names it); a parameter that is
  neither a filter nor `limit`/`after` is a 400 listing what is allowed.
- create: `POST {...}` in the request's lab, or in one of its child labs
  given as `lab_id` (another lab's id: 404, like a missing one); 201 with
  the row.
- read: `GET <pk>/`, from the instance cache for INSTANCE-cached models.
- update: `PATCH <pk>/ {"version": 3, ...}`: the version read, else 409;
  only the fields given change.
- writes: every problem of the body in one 400 with `fields`: JSON types,
  unknown fields, set_values' conversions, validate()'s checks (409 when
  the only problem is a duplicate); `reason` goes to the activity log.

`as_json(instance)` shapes a row (override it; the default is the id, the
lab, the writable fields, `version` and `updated_at`).
"""

from typing import Any, ClassVar

from django.core.exceptions import ValidationError
from django.db.models import Model, QuerySet
from django.http import Http404, HttpRequest, JsonResponse

from core.decorators import request_json
from core.exceptions import VersionConflict
from core.models.validation import to_python
from core.utils.json_input import TEXT, check_fields
from core.view import GenericView

#: Query parameters of every list besides its filters.
PAGE_PARAMETERS = ("limit", "after")


class ModelJsonView(GenericView):
    """What the generic views share: the model's writable fields, its JSON
    shape, and one error for every problem of a body."""

    #: Fields a client may set (create and update); `reason` is always taken.
    writable_fields: ClassVar[tuple[str, ...]] = ()
    body_fields = {"reason": TEXT}

    def model_class(self) -> type[Model]:
        """`model`, which every generic view declares."""
        if self.model is None:
            raise TypeError(f"{type(self).__name__} needs a `model`.")
        return self.model

    def as_json(self, instance: Any) -> dict[str, Any]:
        """The row as the API shows it (override for a model's own shape)."""
        shown = {"id": instance.pk}
        if "lab_id" in instance.__dict__:
            shown["lab_id"] = instance.lab_id
        for name in self.writable_fields:
            shown[name] = getattr(instance, name)
        shown["version"] = getattr(instance, "version", None)
        shown["updated_at"] = getattr(instance, "updated_at", None)
        return shown

    def body(self) -> tuple[dict[str, Any], dict[str, list[Any]]]:
        """The JSON body and the fields of it whose JSON type is wrong (their
        values left out), for `apply` to report with every other problem."""
        data = request_json(self.request)
        try:
            check_fields(data, self.json_fields())
        except ValidationError as exc:
            mistyped = exc.update_error_dict({})
            return {k: v for k, v in data.items() if k not in mistyped}, mistyped
        return data, {}

    def apply(
        self, instance: Any, data: dict[str, Any], mistyped: dict[str, list[Any]]
    ) -> None:
        """Set the writable fields of `data` on `instance`, or raise one
        ValidationError with every problem: mistyped and unknown fields,
        set_values' conversions and validate()'s checks."""
        allowed = {*self.writable_fields, "version", "reason", "lab_id"}
        refused: dict[str, list[Any]] = dict(mistyped)
        for name in sorted(set(data) - allowed - set(mistyped)):
            refused[name] = [
                ValidationError("This field cannot be set.", code="not_settable")
            ]
        values = {n: data[n] for n in self.writable_fields if n in data}
        try:
            instance.set_values(values)
            if refused:
                instance.full_validate(
                    created=instance._state.adding, update_fields=None
                )
        except ValidationError as exc:
            refused = exc.update_error_dict(refused)
        if refused:
            raise ValidationError(refused)

    def saved(self, instance: Any, data: dict[str, Any]) -> Any:
        """`instance` saved with the body's `reason`."""
        instance.save(reason=data.get("reason") or "")
        return instance


class PagedView(ModelJsonView):
    """Pages of rows: `limit` (1 to max_page_size), ids below `after`,
    newest first, with the `next` id to ask for."""

    #: The page's key for its rows.
    list_key: ClassVar[str] = "results"
    page_size: ClassVar[int] = 50
    max_page_size: ClassVar[int] = 200

    def page(self, rows: QuerySet[Any], params: dict[str, Any]) -> JsonResponse:
        """One page of `rows`, newest id first, and the `next` id."""
        limit = whole_number(params, "limit", self.page_size, 1, self.max_page_size)
        after = whole_number(params, "after", None, 1, None)
        if after is not None:
            rows = rows.filter(pk__lt=after)
        found = list(rows.order_by("-pk")[: limit + 1])
        shown = found[:limit]
        return JsonResponse(
            {
                self.list_key: [self.as_json(row) for row in shown],
                "next": shown[-1].pk if len(found) > limit else None,
            }
        )


class ListCreateView(PagedView):
    """GET: a page of the request's labs' rows; POST: a new row."""

    #: Fields a list may be filtered on exactly (`?status=received`).
    filter_fields: ClassVar[tuple[str, ...]] = ()

    def get(self, request: HttpRequest) -> JsonResponse:
        """A page: `limit` rows (1 to max_page_size), ids below `after`."""
        params = self.data()
        self.check_params(params)
        rows = self.filtered(self.scoped(self.model_class()), params)
        return self.page(rows, params)

    def post(self, request: HttpRequest) -> JsonResponse:
        """A new row in the request's lab or the child lab `lab_id` names."""
        data, mistyped = self.body()
        instance = self.model_class()(lab_id=self.lab_for_new_row(data))
        self.apply(instance, data, mistyped)
        return JsonResponse(self.as_json(self.saved(instance, data)), status=201)

    def check_params(self, params: dict[str, Any]) -> None:
        """A 400 for a query parameter the list does not take (override to
        refuse some with a better message first, then call this)."""
        unknown = sorted(set(params) - {*self.filter_fields, *PAGE_PARAMETERS})
        if unknown:
            allowed = ", ".join((*self.filter_fields, *PAGE_PARAMETERS))
            raise ValidationError(
                {
                    name: [f"Not a parameter of this list; use {allowed}."]
                    for name in unknown
                }
            )

    def filtered(self, rows: QuerySet[Any], params: dict[str, Any]) -> QuerySet[Any]:
        """`rows` with each filter given, its value converted by its field."""
        problems: dict[str, list[str]] = {}
        for name in self.filter_fields:
            if params.get(name) in (None, ""):
                continue
            field: Any = self.model_class()._meta.get_field(name)
            target = field.target_field if field.is_relation else field
            try:
                value = to_python(target, params[name])
            except ValidationError as exc:
                problems[name] = exc.messages
                continue
            rows = rows.filter(**{field.attname: value})
        if problems:
            raise ValidationError(problems)
        return rows

    def lab_for_new_row(self, data: dict[str, Any]) -> int:
        """The request's lab, or the child lab the body's `lab_id` names;
        another lab's id is a 404, like a missing one."""
        given = data.pop("lab_id", None)
        if given in (None, ""):
            return self.lab_id
        if (
            isinstance(given, int)
            and not isinstance(given, bool)
            and given in self.lab_ids()
        ):
            return given
        raise Http404(f"No lab with id {given}.")


class RetrieveUpdateView(ModelJsonView):
    """GET: one row of the request's labs; PATCH: change it at the version read."""

    def get(self, request: HttpRequest, pk: int) -> JsonResponse:
        """The row (the instance cache first for INSTANCE-cached models)."""
        return JsonResponse(self.as_json(self.get_scoped(self.model_class(), pk)))

    def patch(self, request: HttpRequest, pk: int) -> JsonResponse:
        """Change the fields given; `version` is the version read (409 if
        the row changed since)."""
        data, mistyped = self.body()
        instance: Any = self.get_scoped(self.model_class(), pk)
        read = data.get("version")
        if read is None and "version" not in mistyped:
            mistyped = {**mistyped, "version": ["Send the version you read."]}
        elif read is not None and read != instance.version:
            raise VersionConflict(type(instance).__name__, pk, read, instance.version)
        self.apply(instance, data, mistyped)
        return JsonResponse(self.as_json(self.saved(instance, data)))


def whole_number(
    params: dict[str, Any], name: str, default: Any, low: int, high: int | None
) -> Any:
    """The parameter `name` as a whole number within [low, high], `default`
    when absent, else a 400 naming it."""
    raw = params.get(name)
    if raw in (None, ""):
        return default
    try:
        value = int(raw)
    except (TypeError, ValueError):
        value = None
    if value is None or value < low or (high is not None and value > high):
        upper = f" and {high}" if high is not None else " or more"
        raise ValidationError({name: [f"Must be a whole number between {low}{upper}."]})
    return value
