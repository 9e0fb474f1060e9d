"""The phone system's operations (CTI): report an incoming call, get the operator's screen-pop URL; attach the
call's recording afterwards."""

from urllib.parse import urlencode

from django.urls import reverse
from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema
from rest_framework import exceptions, serializers, status
from rest_framework.parsers import MultiPartParser
from rest_framework.response import Response

from api.models import Scope
from api.views import MAX_ID, ApiView
from dispatch.exceptions import MediaTooLarge
from dispatch.media import request_size_limit
from telephony.models import Call
from telephony.services import call_record_incoming, call_recording_attach


class CallIncomingApi(ApiView):
    """A call is ringing at an operator's phone: record it (once per phone-system call id) and answer the URL of
    the operator console with the caller's card (history, insurance, first inspection free) already open."""

    required_scope = Scope.CALLS_WRITE

    class InputSerializer(serializers.Serializer):
        external_id = serializers.CharField(max_length=100, help_text="The phone system's id of this call")
        caller = serializers.CharField(max_length=32, help_text="The caller's number (E.164, or mainland digits)")
        called = serializers.RegexField(
            r"^\+?[0-9][0-9-]{2,19}$", max_length=20, help_text="The hotline number dialled, e.g. 400-820-1234"
        )
        started_at = serializers.DateTimeField(required=False, allow_null=True, default=None)

    class OutputSerializer(serializers.Serializer):
        call = serializers.IntegerField(source="pk")
        screen_pop_url = serializers.URLField()
        created = serializers.BooleanField(help_text="False when this call id was already recorded")

    @extend_schema(
        operation_id="calls_incoming", request=InputSerializer, responses={201: OutputSerializer, 200: OutputSerializer}
    )
    def post(self, request):
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        call, created = call_record_incoming(**data.validated_data, by=request.user)
        query = urlencode({"phone": call.caller, "call": call.pk})
        call.screen_pop_url = request.build_absolute_uri(f"{reverse('dispatch:console')}?{query}")
        call.created = created
        return Response(
            self.OutputSerializer(call).data, status=status.HTTP_201_CREATED if created else status.HTTP_200_OK
        )


class CallRecordingApi(ApiView):
    """Attach the call's recording (multipart `file`: WAV, MP3, M4A, Ogg or WebM). The recording is kept with the
    call, and shows on the ticket the operator created during the call. The same file again answers 200."""

    required_scope = Scope.CALLS_WRITE
    parser_classes = [MultiPartParser]
    error_codes = ("409", "413")

    class InputSerializer(serializers.Serializer):
        file = serializers.FileField()

    class OutputSerializer(serializers.Serializer):
        call = serializers.IntegerField(source="pk")
        ticket = serializers.CharField(source="ticket.number", allow_null=True)
        sha256 = serializers.CharField(source="recording_sha256")
        size = serializers.IntegerField(source="recording_size")
        content_type = serializers.CharField(source="recording_content_type")
        created = serializers.BooleanField()

    @extend_schema(
        operation_id="calls_recording",
        request={"multipart/form-data": InputSerializer},
        responses={201: OutputSerializer, 200: OutputSerializer},
    )
    def post(self, request, id: int):
        call = Call.objects.select_related("ticket").filter(pk=id).first() if id <= MAX_ID else None
        if call is None:
            raise exceptions.NotFound(_("There is no such call."))
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        if length > request_size_limit():
            raise MediaTooLarge(request_size_limit())  # refused from the header, before the body is read
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        call, created = call_recording_attach(call=call, upload=data.validated_data["file"], by=request.user)
        call.created = created
        return Response(
            self.OutputSerializer(call).data, status=status.HTTP_201_CREATED if created else status.HTTP_200_OK
        )
