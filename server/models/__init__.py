"""SQLAlchemy models. Every table that belongs to an instance carries `instance_id`."""

from .base import Base
from .definitions import Deployment, MessageStart, ProcessDefinition, Resource
from .identity import ApiToken, Group, User, group_members
from .instances import (
    HistoryEvent,
    Incident,
    MessageWait,
    OpenTask,
    ProcessInstance,
    ServiceCall,
    TaskCandidate,
)
from .jobs import Job
from .participants import InstanceParticipant
from .social import (
    Channel,
    ChannelWatch,
    FeedItem,
    FeedReaction,
    Follow,
    InboundPost,
    Media,
    MediaInstance,
    MediaUploader,
    Review,
    ReviewSignal,
    SocialPost,
)

__all__ = [
    "Channel",
    "ChannelWatch",
    "FeedItem",
    "FeedReaction",
    "Follow",
    "InboundPost",
    "Media",
    "MediaInstance",
    "MediaUploader",
    "Review",
    "ReviewSignal",
    "SocialPost",
    "ApiToken",
    "Base",
    "Deployment",
    "Group",
    "HistoryEvent",
    "Incident",
    "InstanceParticipant",
    "Job",
    "MessageStart",
    "MessageWait",
    "OpenTask",
    "ProcessDefinition",
    "ProcessInstance",
    "Resource",
    "ServiceCall",
    "TaskCandidate",
    "User",
    "group_members",
]
