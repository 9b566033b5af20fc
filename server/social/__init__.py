"""The social task types on the server side: channels, posts, reviews, images and the feed.

What a social step means is in `bpmn.social`; the networks are spoken to by `connectors`. This
package stores and schedules: a social step's ServiceCall becomes posts (one job each), a review
collects signals until `bpmn.reviews` decides, an image step waits for an upload.
"""
