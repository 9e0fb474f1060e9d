from django.utils.translation import gettext_lazy as _
from rest_framework import serializers
from rest_framework.permissions import BasePermission, IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from regions.catalogue import DivisionSummary
from regions.selectors import SEARCH_LIMIT, division_list_search, served_codes


class CanViewDivisions(BasePermission):
    """Back-office staff only: operators, managers, reviewers and admins hold regions.view_division."""

    message = _("You do not have access to the region catalogue.")

    def has_permission(self, request, view) -> bool:
        return request.user.has_perm("regions.view_division")


class DivisionOutput(serializers.Serializer):
    """A division found by the type-ahead, and whether we serve it (`served`: the set of served codes in context)."""

    code = serializers.CharField()
    name = serializers.CharField()
    level = serializers.CharField()
    level_label = serializers.CharField()
    path = serializers.CharField(source="full_name")
    served = serializers.SerializerMethodField()

    def get_served(self, division: DivisionSummary) -> bool:
        return division.code in self.context["served"]


class DivisionSearchApi(APIView):
    """Type-ahead for the operator's address field: GET /api/regions/search?q=永和"""

    permission_classes = [IsAuthenticated, CanViewDivisions]

    class InputSerializer(serializers.Serializer):
        q = serializers.CharField(
            max_length=40,
            trim_whitespace=True,
            error_messages={"blank": _("Type part of a place name or its pinyin initials.")},
        )
        limit = serializers.IntegerField(min_value=1, max_value=50, default=SEARCH_LIMIT)

    OutputSerializer = DivisionOutput

    def get(self, request):
        params = self.InputSerializer(data=request.query_params)
        params.is_valid(raise_exception=True)
        divisions = division_list_search(query=params.validated_data["q"], limit=params.validated_data["limit"])
        output = self.OutputSerializer(divisions, many=True, context={"served": served_codes(divisions=divisions)})
        return Response({"results": output.data})
