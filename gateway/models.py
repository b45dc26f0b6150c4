from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django.db.models import Q


class BackendKind(models.TextChoices):
    LOCAL = "local", "Built-in local backend (deterministic, offline)"
    UPSTREAM = "upstream", "OpenAI-compatible upstream server"


env_var_name = RegexValidator(
    r"^[A-Z_][A-Z0-9_]*$",
    "Give the NAME of an environment variable, e.g. UPSTREAM_KEY.",
)


class ModelRoute(models.Model):
    """Which backend answers calls for a model the API offers.

    The upstream's API key never enters the database: the route names the
    environment variable that holds it, read by the server at call time.
    """

    model = models.CharField(
        max_length=64, unique=True, help_text="The model name API clients send."
    )
    backend = models.CharField(
        max_length=16, choices=BackendKind.choices, default=BackendKind.LOCAL
    )
    enabled = models.BooleanField(
        default=True, help_text="Disabled models answer 404 and are not listed."
    )
    base_url = models.URLField(
        "upstream base URL",
        blank=True,
        help_text="e.g. https://api.example.com/v1; /chat/completions is appended.",
    )
    upstream_model = models.CharField(
        max_length=120,
        blank=True,
        help_text="The model name the upstream expects; empty means the same name.",
    )
    api_key_env = models.CharField(
        "API key environment variable",
        max_length=64,
        blank=True,
        validators=[env_var_name],
        help_text="Name of the environment variable holding the upstream's API key.",
    )
    timeout_seconds = models.PositiveIntegerField(
        default=60, validators=[MinValueValidator(1), MaxValueValidator(600)]
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["model"]
        constraints = [
            models.CheckConstraint(
                condition=Q(backend__in=BackendKind.values), name="route_backend_known"
            ),
            models.CheckConstraint(
                condition=~Q(backend=BackendKind.UPSTREAM) | ~Q(base_url=""),
                name="route_upstream_has_url",
            ),
            models.CheckConstraint(
                condition=Q(timeout_seconds__gte=1) & Q(timeout_seconds__lte=600),
                name="route_timeout_in_range",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.model} → {self.get_backend_display()}"

    @property
    def upstream_name(self) -> str:
        return self.upstream_model or self.model
