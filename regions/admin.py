from django.contrib import admin
from django.db.models import BooleanField, Exists, F, Func, OuterRef, Q
from django.utils.translation import gettext_lazy as _

from regions.models import Division, DivisionAlias, ServiceArea


class ProvinceFilter(admin.SimpleListFilter):
    title = _("province")
    parameter_name = "province"

    def lookups(self, request, model_admin):
        return Division.objects.filter(level=Division.Level.PROVINCE).values_list("code", "name")

    def queryset(self, request, queryset):
        if self.value():
            return queryset.filter(province_id=self.value()) | queryset.filter(code=self.value())
        return queryset


class ServedFilter(admin.SimpleListFilter):
    title = _("served")
    parameter_name = "served"

    def lookups(self, request, model_admin):
        return [("yes", _("Served")), ("no", _("Not served"))]

    def queryset(self, request, queryset):
        if self.value() not in {"yes", "no"}:
            return queryset
        areas = list(ServiceArea.objects.filter(is_active=True).values_list("division_id", flat=True))
        served = queryset.filter(code__in=areas) | queryset.filter(ancestor_codes__overlap=areas)
        return served if self.value() == "yes" else queryset.exclude(code__in=served.values("code"))


class DivisionAliasInline(admin.TabularInline):
    model = DivisionAlias
    extra = 0
    fields = ["name", "kind", "old_code", "valid_until", "note"]


# Served when an active service area is the division itself or one of its ancestors; one EXISTS per listed row.
SERVED = Exists(
    ServiceArea.objects.alias(
        # area.division_id = ANY(division.ancestor_codes)
        is_ancestor=Func(
            F("division_id"),
            OuterRef("ancestor_codes"),
            template="(%(expressions)s))",
            arg_joiner=" = ANY(",
            output_field=BooleanField(),
        )
    ).filter(Q(division_id=OuterRef("code")) | Q(is_ancestor=True), is_active=True)
)


@admin.register(Division)
class DivisionAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "level", "full_name", "initials", "is_official", "served"]
    list_filter = ["level", ServedFilter, ProvinceFilter, "is_official"]
    search_fields = ["code", "name", "full_name", "initials", "pinyin"]
    # The catalogue comes from load_divisions; codes, parents and paths are not edited by hand.
    readonly_fields = ["code", "parent", "province", "ancestor_codes", "full_name", "level", "source", "is_official"]
    fields = ["code", "name", "level", "parent", "province", "full_name", "pinyin", "initials", "is_official", "source"]
    inlines = [DivisionAliasInline]
    list_per_page = 50
    show_full_result_count = False

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(is_served=SERVED)

    @admin.display(description=_("served"), boolean=True, ordering="is_served")
    def served(self, division: Division) -> bool:
        return division.is_served

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(DivisionAlias)
class DivisionAliasAdmin(admin.ModelAdmin):
    list_display = ["name", "division", "kind", "old_code", "valid_until"]
    list_filter = ["kind"]
    search_fields = ["name", "division__full_name", "old_code"]
    autocomplete_fields = ["division"]
    list_select_related = ["division"]


@admin.register(ServiceArea)
class ServiceAreaAdmin(admin.ModelAdmin):
    list_display = ["division", "source_entry", "outcome", "is_active", "created_at"]
    list_filter = ["is_active", "outcome", "division__level"]
    search_fields = ["division__full_name", "source_entry", "division__code"]
    autocomplete_fields = ["division"]
    list_select_related = ["division"]
